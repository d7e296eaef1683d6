package state

import "context"

// HistoryMode says how an audit compares a stack with its earlier
// checkpoints.
type HistoryMode int

const (
	// HistoryOff reads only the live checkpoints.
	HistoryOff HistoryMode = iota
	// HistoryBounded reads a bounded number of each stack's backups and
	// history checkpoints: the newest and the oldest that record a
	// provider, and, when they disagree about the live provider, a binary
	// search between them for the newest that differs. It misses a
	// provider that changed and changed back between two records it read
	// (A…B…A), and names a differing record that may not be the newest
	// when records in between fail to decode or record no provider past
	// the read budget.
	HistoryBounded
	// HistoryAll reads every backup and history checkpoint, newest first,
	// until one records a provider other than the live one.
	HistoryAll
)

// Read budgets of HistoryBounded, per stack.
const (
	// historyEndReads bounds the records read at each end of the history
	// to find one that records a provider.
	historyEndReads = 3
	// historyMaxReads bounds all the records read for one stack.
	historyMaxReads = 24
)

// verdict is what one earlier checkpoint says of the live provider.
type verdict int

const (
	// unknownVerdict: the record fails to decode or records no provider.
	unknownVerdict verdict = iota
	sameVerdict
	differsVerdict
)

func judge(rec Record, live *SecretsProvider) verdict {
	switch {
	case rec.Err != nil || rec.Head.Provider == nil:
		return unknownVerdict
	case sameAuditProvider(live, rec.Head.Provider):
		return sameVerdict
	}
	return differsVerdict
}

// exhaustiveFlip reads srcs (newest first) one at a time until one records
// a provider other than live.
func exhaustiveFlip(ctx context.Context, b *Backend, srcs []Source, live *SecretsProvider) (Record, bool) {
	for _, src := range srcs {
		if ctx.Err() != nil {
			break
		}
		if rec := b.readRecord(ctx, src); judge(rec, live) == differsVerdict {
			return rec, true
		}
	}
	return Record{}, false
}

// boundedFlip finds the newest of srcs (newest first) that records a
// provider other than live, reading at most historyMaxReads of them. It
// reads the newest record that records a provider: when that differs, it
// is the answer. Else it reads the oldest: when that agrees too, no change
// is seen. Else the change lies between them, and a binary search finds
// the newest differing record, assuming a single change: a record that
// records no provider is passed over by reading its newer neighbours.
func boundedFlip(ctx context.Context, b *Backend, srcs []Source, live *SecretsProvider) (Record, bool) {
	reads := 0
	read := func(i int) (Record, verdict) {
		reads++
		rec := b.readRecord(ctx, srcs[i])
		return rec, judge(rec, live)
	}
	// lo: no record at or before it is known to differ. hi: the newest
	// record known to differ.
	lo, hi := -1, -1
	var found Record
	for i := 0; i < len(srcs) && i < historyEndReads && ctx.Err() == nil; i++ {
		rec, v := read(i)
		if v == differsVerdict {
			return rec, true
		}
		lo = i
		if v == sameVerdict {
			break
		}
	}
	for i := len(srcs) - 1; i > lo && len(srcs)-1-i < historyEndReads && ctx.Err() == nil; i-- {
		rec, v := read(i)
		if v == sameVerdict {
			return Record{}, false
		}
		if v == differsVerdict {
			hi, found = i, rec
			break
		}
	}
	if hi < 0 {
		return Record{}, false
	}
	for hi-lo > 1 && reads < historyMaxReads && ctx.Err() == nil {
		mid := lo + (hi-lo)/2
		// From mid towards lo, the first record that records a provider
		// moves one bound; when (lo, mid] records none, the change lies
		// after mid.
		moved := false
		for j := mid; j > lo && reads < historyMaxReads; j-- {
			rec, v := read(j)
			if v == differsVerdict {
				hi, found, moved = j, rec, true
				break
			}
			if v == sameVerdict || j == lo+1 {
				lo, moved = mid, true
				break
			}
		}
		if !moved {
			break // the budget is spent: found differs, if not the newest
		}
	}
	return found, true
}

// sameAuditProvider reports whether two recorded providers are the same provider
// for an audit: the same type and URL. A new data key or salt under the same
// provider is not a flip.
func sameAuditProvider(a, b *SecretsProvider) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Type == b.Type && a.URL == b.URL
}

package state

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Provider classes an audit reports. Cloud providers are reported by their
// keeper scheme.
var ProviderClasses = []string{"awskms", "gcpkms", "azurekeyvault", "hashivault", "passphrase", "service", "none", "unknown"}

// ProviderClass returns the class of a recorded provider for reports: its
// Kind when that is one of the ProviderClasses, "none" for a nil provider,
// and "unknown" for anything else (an unknown type, or a cloud URL whose
// scheme pulumi does not register).
func ProviderClass(p *SecretsProvider) string {
	if p == nil {
		return "none"
	}
	k := p.Kind()
	for _, c := range ProviderClasses {
		if c == k {
			return k
		}
	}
	return "unknown"
}

// StackReport is what an audit says of one stack. The JSON names are stable:
// users script against them. The same list of fields, in the same order and
// under the same names, makes the CSV columns: a field tagged csv:"-" is not
// a column, and one tagged csv:"keys" is one only with audit --keys.
type StackReport struct {
	Project           string    `json:"project"`
	Stack             string    `json:"stack"`
	Provider          string    `json:"provider"`
	SecretsProvider   string    `json:"secretsprovider"`
	Key               string    `json:"key"`
	Region            string    `json:"region"`
	EncryptedKeySHA   string    `json:"encryptedkey_sha256"`
	Object            string    `json:"object"`
	Size              int64     `json:"size"`
	LastModified      time.Time `json:"last_modified"`
	Compression       string    `json:"compression"`
	CheckpointVersion int       `json:"checkpoint_version"`
	Locked            bool      `json:"locked"`
	// Legacy marks a stack file in the legacy (non-project) location.
	Legacy bool `json:"legacy"`
	// Flipped, with History on, says the live provider differs from the one
	// an earlier backup or history checkpoint records; Previous* describe
	// the newest such earlier provider.
	Flipped                 bool   `json:"flipped"`
	PreviousProvider        string `json:"previous_provider,omitempty"`
	PreviousSecretsProvider string `json:"previous_secretsprovider,omitempty"`
	PreviousObject          string `json:"previous_object,omitempty" csv:"-"`
	Error                   string `json:"error"`
	// KeyState and DeletionDate are, with audit --keys, the state of an
	// awskms stack's KMS key (pkg/secrets.KeyAuditor fills them).
	KeyState     string     `json:"key_state,omitempty" csv:"keys"`
	DeletionDate *time.Time `json:"deletion_date,omitempty" csv:"keys"`

	// Ref is the stack's reference; Head the decoded head (zero on error).
	Ref  StackRef `json:"-"`
	Head Head     `json:"-"`
}

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

// DefaultAuditJobs is how many checkpoints an audit reads at once. Reads
// wait on the network, not the CPU: with 20 ms per request, 64 at once
// audited 10,000 stacks in half the time of 16, and on loopback within
// noise of the best (make bench-compare).
const DefaultAuditJobs = 64

// AuditOptions configure Audit.
type AuditOptions struct {
	// Projects limits the audit to these projects (all when empty).
	Projects []string
	// Jobs bounds how many stacks are read at once (DefaultAuditJobs when
	// zero).
	Jobs int
	// History also reads each stack's backups and history checkpoints to
	// detect a provider that changed.
	History HistoryMode
	// Progress, when set, is called after each stack with the number done
	// and the total.
	Progress func(done, total int)
}

// Audit reads the head of every live stack's checkpoint and reports its
// secrets provider, sorted by project and stack. A stack that cannot be
// read is reported with Error set, and the audit goes on; only a failure
// to list the backend is an error. It holds every report; AuditEach
// does not.
func (b *Backend) Audit(ctx context.Context, opts AuditOptions) ([]StackReport, error) {
	var reports []StackReport
	err := b.AuditEach(ctx, opts, func(r StackReport) error {
		reports = append(reports, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reports, nil
}

// AuditEach is Audit handing each report to fn, in the same order, as soon
// as it and every report before it are ready: the reports held at once are
// bounded by the number of jobs, not by the number of stacks. fn is called
// from AuditEach's goroutine, one report at a time. An error from fn stops
// the audit and is returned; so is the context's error when it ends before
// every stack is reported.
func (b *Backend) AuditEach(ctx context.Context, opts AuditOptions, fn func(StackReport) error) error {
	l, err := b.ListStacks(ctx, opts.Projects...)
	if err != nil {
		return err
	}
	locked, err := b.LockedStacks(ctx)
	if err != nil {
		return err
	}
	extra := b.unreadableReports(l)
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = DefaultAuditJobs
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// A dispatcher hands stacks to the workers in listing order and queues
	// one result slot per stack; the queue's capacity bounds how far the
	// workers run ahead of fn.
	type job struct {
		s   StackObject
		out chan StackReport
	}
	work := make(chan job)
	queue := make(chan chan StackReport, 4*jobs)
	go func() {
		defer close(queue)
		defer close(work)
		for _, s := range l.Stacks {
			j := job{s: s, out: make(chan StackReport, 1)}
			select {
			case work <- j:
			case <-ctx.Done():
				return
			}
			// A job handed out is always answered, so the slot of
			// every queued job is filled.
			select {
			case queue <- j.out:
			case <-ctx.Done():
				return
			}
		}
	}()
	var (
		wg   sync.WaitGroup
		done atomic.Int64
	)
	for range min(jobs, len(l.Stacks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				r, _ := b.report(ctx, j.s, locked[j.s.Ref], opts.History)
				j.out <- r
				if opts.Progress != nil {
					opts.Progress(int(done.Add(1)), len(l.Stacks))
				}
			}
		}()
	}
	defer wg.Wait()

	emit := func(r StackReport) error {
		// Unreadable stack files sort among the stacks.
		for len(extra) > 0 && refLess(extra[0].Ref, r.Ref) {
			if err := fn(extra[0]); err != nil {
				return err
			}
			extra = extra[1:]
		}
		return fn(r)
	}
	n := 0
	for out := range queue {
		r := <-out
		if ctx.Err() != nil {
			break
		}
		if err := emit(r); err != nil {
			cancel()
			return err
		}
		n++
	}
	// Our context is only cancelled above: an end is the caller's.
	if err := parent.Err(); err != nil {
		return err
	}
	if n < len(l.Stacks) {
		return fmt.Errorf("audit stopped after %d of %d stacks", n, len(l.Stacks))
	}
	for _, r := range extra {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// unreadableReports returns the reports of the stack files l lists that
// pulumi cannot load, sorted as the stacks are, one per stack, and none
// for a stack that also has a readable checkpoint: pulumi loads that one.
func (b *Backend) unreadableReports(l Listing) []StackReport {
	var extra []StackReport
	for _, o := range l.Unreadable {
		ref, _, _ := ParseStackKey(o.Key)
		extra = append(extra, StackReport{
			Project: ref.Project, Stack: ref.Name, Provider: "unknown", Ref: ref,
			Object: b.Store.Location(o.Key), Size: o.Size, LastModified: o.ModTime, Legacy: ref.Project == "",
			Error: "pulumi lists this stack but only reads .json, .json.gz and .json.zst checkpoints",
		})
	}
	sort.SliceStable(extra, func(i, j int) bool { return refLess(extra[i].Ref, extra[j].Ref) })
	// Both lists are sorted: drop duplicates and stacks l.Stacks holds in
	// one pass over each.
	kept, i := extra[:0], 0
	for _, r := range extra {
		if len(kept) > 0 && kept[len(kept)-1].Ref == r.Ref {
			continue
		}
		for i < len(l.Stacks) && refLess(l.Stacks[i].Ref, r.Ref) {
			i++
		}
		if i < len(l.Stacks) && l.Stacks[i].Ref == r.Ref {
			continue
		}
		kept = append(kept, r)
	}
	return kept
}

// refLess orders stack references as reports are: by project, then stack.
func refLess(a, b StackRef) bool {
	if a.Project != b.Project {
		return a.Project < b.Project
	}
	return a.Name < b.Name
}

// Report reads the head of one stack's checkpoint and reports it, as an
// audit does; with history, it also compares the stack with its earlier
// checkpoints as HistoryBounded does. When the checkpoint cannot be read,
// the report has provider "unknown" and Error set, and the error is also
// returned.
func (b *Backend) Report(ctx context.Context, s StackObject, locked, history bool) (StackReport, error) {
	mode := HistoryOff
	if history {
		mode = HistoryBounded
	}
	return b.report(ctx, s, locked, mode)
}

// report is Report with a history mode.
func (b *Backend) report(ctx context.Context, s StackObject, locked bool, history HistoryMode) (StackReport, error) {
	r := StackReport{
		Project: s.Ref.Project, Stack: s.Ref.Name, Ref: s.Ref,
		Object: b.Store.Location(s.Key), Size: s.Size, LastModified: s.ModTime,
		Locked: locked, Legacy: s.Legacy,
	}
	h, err := b.ReadHead(ctx, s.Key)
	r.Head, r.Compression, r.CheckpointVersion = h, h.Compression, h.Version
	if err != nil {
		r.Provider, r.Error = "unknown", err.Error()
		return r, err
	}
	r.describe(h.Provider)
	if history != HistoryOff {
		r.compareHistory(ctx, b, history)
	}
	return r, nil
}

// describe fills the provider fields from p.
func (r *StackReport) describe(p *SecretsProvider) {
	r.Provider = ProviderClass(p)
	if p == nil {
		return
	}
	r.SecretsProvider = p.CloudURL()
	r.Key, r.Region, r.EncryptedKeySHA = p.KeyID(), p.Region(), p.Fingerprint()
}

// compareHistory compares the live provider with the stack's earlier
// checkpoints, by the given mode, and describes the newest differing one
// it finds.
func (r *StackReport) compareHistory(ctx context.Context, b *Backend, mode HistoryMode) {
	srcs, err := b.HistorySources(ctx, r.Ref)
	if err != nil {
		r.Error = fmt.Sprintf("reading history: %v", err)
		return
	}
	var rec Record
	var found bool
	if mode == HistoryAll {
		rec, found = exhaustiveFlip(ctx, b, srcs, r.Head.Provider)
	} else {
		rec, found = boundedFlip(ctx, b, srcs, r.Head.Provider)
	}
	if found {
		r.Flipped = true
		r.PreviousProvider = ProviderClass(rec.Head.Provider)
		r.PreviousSecretsProvider = rec.Head.Provider.CloudURL()
		r.PreviousObject = b.Store.Location(rec.Key)
	}
}

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
		if rec := b.ReadRecord(ctx, src); judge(rec, live) == differsVerdict {
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
		rec := b.ReadRecord(ctx, srcs[i])
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

package state

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Source says where a secrets provider was found.
type Source struct {
	// Kind is "checkpoint", "backup" or "history".
	Kind string
	// Key is the object the provider was read from.
	Key string
	// Time is when that object was written: from its name for backups and
	// history, else its modification time.
	Time time.Time
}

// Record is one earlier checkpoint of a stack with what it records.
type Record struct {
	Source
	Head Head
	Err  error
}

// History reads the heads of ref's timestamped backups
// (.pulumi/backups/…/<stack>.<unixnano>.json*) and history checkpoints
// (.pulumi/history/…/<stack>-<unixnano>.checkpoint.json*), newest first.
// It reads one at a time and stops after the first record for which until
// returns true; with a nil until it reads them all.
func (b *Backend) History(ctx context.Context, ref StackRef, until func(Record) bool) ([]Record, error) {
	layout, err := b.Layout(ctx)
	if err != nil {
		return nil, err
	}
	var recs []Record
	collect := func(kind, prefix, sep, suffix string) error {
		return b.Store.List(ctx, prefix, false, func(o Object) error {
			rest, ok := strings.CutPrefix(o.Key[len(prefix):], ref.Name+sep)
			if !ok {
				return nil
			}
			stamp, ext, ok := strings.Cut(rest, ".")
			if !ok {
				return nil
			}
			ext = "." + ext
			if suffix != "" {
				if ext, ok = strings.CutPrefix(ext, suffix); !ok {
					return nil
				}
			}
			if !IsCheckpointExt(ext) {
				return nil
			}
			nanos, err := strconv.ParseInt(stamp, 10, 64)
			if err != nil {
				return nil
			}
			recs = append(recs, Record{Source: Source{Kind: kind, Key: o.Key, Time: time.Unix(0, nanos).UTC()}})
			return nil
		})
	}
	if err := collect("backup", layout.BackupsPrefix(ref), ".", ""); err != nil {
		return nil, err
	}
	if err := collect("history", layout.HistoryPrefix(ref), "-", ".checkpoint"); err != nil {
		return nil, err
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Time.After(recs[j].Time) })
	for i := range recs {
		recs[i].Head, recs[i].Err = b.ReadHead(ctx, recs[i].Key)
		if until != nil && until(recs[i]) {
			return recs[:i+1], nil
		}
	}
	return recs, nil
}

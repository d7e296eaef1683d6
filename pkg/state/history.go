package state

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stacksync/stacksync/pkg/state/store"
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

// historySources lists ref's timestamped backups
// (.pulumi/backups/…/<stack>.<unixnano>.json*) and history checkpoints
// (.pulumi/history/…/<stack>-<unixnano>.checkpoint.json*), newest first,
// without reading them.
func (b *Backend) historySources(ctx context.Context, ref StackRef) ([]Source, error) {
	layout, err := b.detectedLayout(ctx)
	if err != nil {
		return nil, err
	}
	var srcs []Source
	collect := func(kind, prefix, sep, suffix string) error {
		return b.Store.List(ctx, prefix, false, func(o store.Object) error {
			if src, ok := parseHistoryKey(o.Key, prefix, ref.Name+sep, suffix); ok {
				src.Kind = kind
				srcs = append(srcs, src)
			}
			return nil
		})
	}
	if err := collect("backup", layout.backupsPrefix(ref), ".", ""); err != nil {
		return nil, err
	}
	if err := collect("history", layout.historyPrefix(ref), "-", ".checkpoint"); err != nil {
		return nil, err
	}
	sort.SliceStable(srcs, func(i, j int) bool { return srcs[i].Time.After(srcs[j].Time) })
	return srcs, nil
}

// parseHistoryKey parses key, listed under prefix, as
// <prefix><stack><sep><unixnano><suffix><checkpoint extension>, where
// stackSep is <stack><sep>. It returns the source with Key and Time set.
func parseHistoryKey(key, prefix, stackSep, suffix string) (Source, bool) {
	rest, ok := strings.CutPrefix(key, prefix)
	if ok {
		rest, ok = strings.CutPrefix(rest, stackSep)
	}
	if !ok {
		return Source{}, false
	}
	stamp, ext, ok := strings.Cut(rest, ".")
	if !ok {
		return Source{}, false
	}
	ext = "." + ext
	if suffix != "" {
		if ext, ok = strings.CutPrefix(ext, suffix); !ok {
			return Source{}, false
		}
	}
	if !isCheckpointExt(ext) {
		return Source{}, false
	}
	nanos, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return Source{}, false
	}
	return Source{Key: key, Time: time.Unix(0, nanos).UTC()}, true
}

// readRecord reads the head of the earlier checkpoint src names, with one
// read of the store; a failure is the record's Err.
func (b *Backend) readRecord(ctx context.Context, src Source) Record {
	h, err := b.ReadHead(ctx, src.Key)
	return Record{Source: src, Head: h, Err: err}
}

// History reads the heads of ref's timestamped backups and history
// checkpoints (see historySources), newest first. It reads one at a time
// and stops after the first record for which until returns true; with a
// nil until it reads them all.
func (b *Backend) History(ctx context.Context, ref StackRef, until func(Record) bool) ([]Record, error) {
	srcs, err := b.historySources(ctx, ref)
	if err != nil {
		return nil, err
	}
	recs := make([]Record, 0, len(srcs))
	for _, src := range srcs {
		rec := b.readRecord(ctx, src)
		recs = append(recs, rec)
		if until != nil && until(rec) {
			break
		}
	}
	return recs, nil
}

package state

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// Lock is a lock file of a stack.
type Lock struct {
	Key       string    `json:"key"`
	PID       int       `json:"pid"`
	Username  string    `json:"username"`
	Hostname  string    `json:"hostname"`
	Timestamp time.Time `json:"timestamp"`
}

// Locks lists ref's lock files and reads who holds each. A lock file that
// cannot be read or decoded is still returned, with only its key.
func (b *Backend) Locks(ctx context.Context, ref StackRef) ([]Lock, error) {
	layout, err := b.detectedLayout(ctx)
	if err != nil {
		return nil, err
	}
	var keys []string
	// Like Pulumi, any file in the stack's lock directory counts as a lock.
	if err := b.Store.List(ctx, layout.locksPrefix(ref), false, func(o store.Object) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		return nil, err
	}
	locks := make([]Lock, 0, len(keys))
	for _, k := range keys {
		l := Lock{Key: k}
		if rc, err := b.Store.ReadRange(ctx, k, 0, maxSmallObject); err == nil {
			data, _ := io.ReadAll(rc)
			rc.Close()
			_ = json.Unmarshal(data, &l)
			l.Key = k
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		locks = append(locks, l)
	}
	return locks, nil
}

// lockedStacks lists every lock file of the backend once and returns the set
// of stacks that have one; an audit calls it instead of Locks per stack.
func (b *Backend) lockedStacks(ctx context.Context) (map[StackRef]bool, error) {
	layout, err := b.detectedLayout(ctx)
	if err != nil {
		return nil, err
	}
	locked := map[StackRef]bool{}
	err = b.Store.List(ctx, locksDir, true, func(o store.Object) error {
		if ref, ok := layout.parseLockKey(o.Key); ok {
			locked[ref] = true
		}
		return nil
	})
	return locked, err
}

// hasLock reports whether ref's lock directory holds any file, as pulumi
// counts a lock, without reading it.
func (b *Backend) hasLock(ctx context.Context, layout keyLayout, ref StackRef) (bool, error) {
	found := false
	err := b.Store.List(ctx, layout.locksPrefix(ref), false, func(store.Object) error {
		found = true
		return errDone
	})
	if err == errDone {
		err = nil
	}
	return found, err
}

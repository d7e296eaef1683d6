package storetest

import (
	"context"
	"fmt"
	"io"
	"testing/iotest"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// NewFaults wraps s and fails the reads of some keys, the way a store
// would: with an error naming the object. open maps a key to the error
// ReadRange fails with; read maps a key to the error its reader fails with
// after the first 100 bytes, a transfer that breaks.
func NewFaults(s store.Store, open, read map[string]error) store.Store {
	return faults{Store: s, open: open, read: read}
}

// faults is the store NewFaults returns.
type faults struct {
	store.Store
	open, read map[string]error
}

// ReadRange implements store.Store.
func (s faults) ReadRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if err := s.open[key]; err != nil {
		return nil, fmt.Errorf("%s: %w", s.Location(key), err)
	}
	rc, err := s.Store.ReadRange(ctx, key, off, n)
	if err != nil {
		return nil, err
	}
	if err := s.read[key]; err != nil {
		return struct {
			io.Reader
			io.Closer
		}{io.MultiReader(io.LimitReader(rc, 100), iotest.ErrReader(fmt.Errorf("reading %s: %w", s.Location(key), err))), rc}, nil
	}
	return rc, nil
}

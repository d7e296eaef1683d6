package storetest

import (
	"context"
	"fmt"
	"io"
	"testing/iotest"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// Faults wraps a store.Store and fails the reads of some keys, the way a
// store would: with an error naming the object.
type Faults struct {
	store.Store
	// Open maps a key to the error ReadRange fails with.
	Open map[string]error
	// Read maps a key to the error its reader fails with after the first
	// 100 bytes: a transfer that breaks.
	Read map[string]error
}

// ReadRange implements store.Store.
func (s Faults) ReadRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if err := s.Open[key]; err != nil {
		return nil, fmt.Errorf("%s: %w", s.Location(key), err)
	}
	rc, err := s.Store.ReadRange(ctx, key, off, n)
	if err != nil {
		return nil, err
	}
	if err := s.Read[key]; err != nil {
		return struct {
			io.Reader
			io.Closer
		}{io.MultiReader(io.LimitReader(rc, 100), iotest.ErrReader(fmt.Errorf("reading %s: %w", s.Location(key), err))), rc}, nil
	}
	return rc, nil
}

package storetest

import (
	"context"
	"io"
	"sync/atomic"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// Counting is a store.Store that counts the ReadRange calls made on it
// and the bytes read from the readers they return.
type Counting interface {
	store.Store
	// Reads returns the number of ReadRange calls so far.
	Reads() int64
	// Bytes returns the number of bytes read so far.
	Bytes() int64
}

// NewCounting returns a Counting wrapper of s.
func NewCounting(s store.Store) Counting { return &counting{Store: s} }

// counting is the Counting NewCounting returns.
type counting struct {
	store.Store
	reads atomic.Int64
	bytes atomic.Int64
}

// Reads implements Counting.
func (s *counting) Reads() int64 { return s.reads.Load() }

// Bytes implements Counting.
func (s *counting) Bytes() int64 { return s.bytes.Load() }

// ReadRange implements store.Store.
func (s *counting) ReadRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	s.reads.Add(1)
	rc, err := s.Store.ReadRange(ctx, key, off, n)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{&countingReader{rc, &s.bytes}, rc}, nil
}

// countingReader adds the bytes read through it to n.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

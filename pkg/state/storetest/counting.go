package storetest

import (
	"context"
	"io"
	"sync/atomic"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// Counting wraps a store.Store and counts the ReadRange calls made on it
// and the bytes read from the readers they return.
type Counting struct {
	store.Store
	reads atomic.Int64
	bytes atomic.Int64
}

// Reads returns the number of ReadRange calls so far.
func (s *Counting) Reads() int64 { return s.reads.Load() }

// Bytes returns the number of bytes read so far.
func (s *Counting) Bytes() int64 { return s.bytes.Load() }

// ReadRange implements store.Store.
func (s *Counting) ReadRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
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

package state

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// MemStore is a Store held in memory, for tests and benchmarks.
type MemStore struct {
	mu      sync.Mutex
	objects map[string]memObject
}

type memObject struct {
	data    []byte
	modTime time.Time
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{objects: map[string]memObject{}} }

// Put stores data at key with the given modification time.
func (s *MemStore) Put(key string, data []byte, modTime time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[key] = memObject{data: data, modTime: modTime}
}

// Location implements Store.
func (s *MemStore) Location(key string) string { return "mem://" + key }

// List implements Store.
func (s *MemStore) List(ctx context.Context, prefix string, recursive bool, fn func(Object) error) error {
	s.mu.Lock()
	var objs []Object
	for k, o := range s.objects {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if !recursive && strings.Contains(k[len(prefix):], "/") {
			continue
		}
		objs = append(objs, Object{Key: k, Size: int64(len(o.data)), ModTime: o.modTime})
	}
	s.mu.Unlock()
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	for _, o := range objs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

// ReadRange implements Store.
func (s *MemStore) ReadRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	o, ok := s.objects[key]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%s: %w", s.Location(key), ErrNotFound)
	}
	data := o.data
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	data = data[off:]
	if n >= 0 && n < int64(len(data)) {
		data = data[:n]
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

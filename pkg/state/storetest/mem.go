// Package storetest holds what the tests of stores and of their callers
// share: the contract every store.Store must keep (Contract), a store held
// in memory (Mem), and wrappers that count (Counting), record (Recorder) or
// fail (Faults) the requests of another store.
package storetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// Mem is a store.Store held in memory, for tests and benchmarks, that
// objects are put into. Its locations are "mem://<key>".
type Mem interface {
	store.Store
	// Put stores data at key with the given modification time.
	Put(key string, data []byte, modTime time.Time)
}

// mem is the Mem NewMem returns.
type mem struct {
	mu      sync.Mutex
	objects map[string]memObject
}

type memObject struct {
	data    []byte
	modTime time.Time
}

// NewMem returns an empty Mem.
func NewMem() Mem { return &mem{objects: map[string]memObject{}} }

// Put implements Mem.
func (s *mem) Put(key string, data []byte, modTime time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[key] = memObject{data: data, modTime: modTime}
}

// Location implements store.Store.
func (s *mem) Location(key string) string { return "mem://" + key }

// List implements store.Store.
func (s *mem) List(ctx context.Context, prefix string, recursive bool, fn func(store.Object) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	var objs []store.Object
	for k, o := range s.objects {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if !recursive && strings.Contains(k[len(prefix):], "/") {
			continue
		}
		objs = append(objs, store.Object{Key: k, Size: int64(len(o.data)), ModTime: o.modTime})
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

// Stat implements store.Store.
func (s *mem) Stat(ctx context.Context, key string) (store.Object, error) {
	if err := ctx.Err(); err != nil {
		return store.Object{}, err
	}
	s.mu.Lock()
	o, ok := s.objects[key]
	s.mu.Unlock()
	if !ok {
		return store.Object{}, fmt.Errorf("%s: %w", s.Location(key), store.ErrNotFound)
	}
	return store.Object{Key: key, Size: int64(len(o.data)), ModTime: o.modTime}, nil
}

// ReadRange implements store.Store.
func (s *mem) ReadRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	o, ok := s.objects[key]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%s: %w", s.Location(key), store.ErrNotFound)
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

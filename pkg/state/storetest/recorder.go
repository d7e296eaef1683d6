package storetest

import (
	"context"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// Recorder is a store.Store that records the requests sent to it
// ("LIST <prefix>", "HEAD <key>", "GET <key>") and how many are in flight
// at once. Each request waits, up to a hold time, for others to join it,
// so requests sent together are seen together.
type Recorder interface {
	store.Store
	// Requests returns the requests so far, sorted.
	Requests() []string
	// MaxInFlight returns the most requests that were in flight at once.
	MaxInFlight() int
}

// recorder is the Recorder NewRecorder returns.
type recorder struct {
	store.Store
	hold time.Duration

	mu       sync.Mutex
	reqs     []string
	inFlight int
	maxIn    int
	arrived  chan struct{}
}

// NewRecorder returns a Recorder of s whose requests wait up to hold for
// the next one.
func NewRecorder(s store.Store, hold time.Duration) Recorder {
	return &recorder{Store: s, hold: hold, arrived: make(chan struct{})}
}

func (s *recorder) enter(req string) {
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.inFlight++
	s.maxIn = max(s.maxIn, s.inFlight)
	close(s.arrived)
	s.arrived = make(chan struct{})
	s.mu.Unlock()
	// Wait a little for the next request to arrive, then go on.
	timer := time.NewTimer(s.hold)
	defer timer.Stop()
	for {
		s.mu.Lock()
		ch := s.arrived
		s.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			return
		}
	}
}

func (s *recorder) leave() {
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
}

// List implements store.Store.
func (s *recorder) List(ctx context.Context, prefix string, recursive bool, fn func(store.Object) error) error {
	s.enter("LIST " + prefix)
	defer s.leave()
	return s.Store.List(ctx, prefix, recursive, fn)
}

// Stat implements store.Store.
func (s *recorder) Stat(ctx context.Context, key string) (store.Object, error) {
	s.enter("HEAD " + key)
	defer s.leave()
	return s.Store.Stat(ctx, key)
}

// ReadRange implements store.Store.
func (s *recorder) ReadRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	s.enter("GET " + key)
	defer s.leave()
	return s.Store.ReadRange(ctx, key, off, n)
}

// Requests implements Recorder.
func (s *recorder) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := append([]string(nil), s.reqs...)
	sort.Strings(r)
	return r
}

// MaxInFlight implements Recorder.
func (s *recorder) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxIn
}

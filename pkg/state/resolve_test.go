package state

import (
	"context"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// roundStore records the requests a backend sends and how many are in
// flight at once. Each request waits, up to hold, for others to join it, so
// requests sent together are seen together.
type roundStore struct {
	Store
	hold time.Duration

	mu       sync.Mutex
	reqs     []string
	inFlight int
	maxIn    int
	arrived  chan struct{}
}

func newRoundStore(s Store) *roundStore {
	return &roundStore{Store: s, hold: 200 * time.Millisecond, arrived: make(chan struct{})}
}

func (s *roundStore) enter(req string) {
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

func (s *roundStore) leave() {
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
}

func (s *roundStore) List(ctx context.Context, prefix string, recursive bool, fn func(Object) error) error {
	s.enter("LIST " + prefix)
	defer s.leave()
	return s.Store.List(ctx, prefix, recursive, fn)
}

func (s *roundStore) ReadRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	s.enter("GET " + key)
	defer s.leave()
	return s.Store.ReadRange(ctx, key, off, n)
}

func (s *roundStore) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := append([]string(nil), s.reqs...)
	sort.Strings(r)
	return r
}

// TestProviderOneRound: a restore's requests go out together — meta.yaml,
// the variant listing, the speculative read and the lock listing — and a
// second round follows only when the guess was wrong.
func TestProviderOneRound(t *testing.T) {
	ctx := context.Background()
	cp := ckpt{version: 3, sp: spCloud(testKMSURL, testKMSKey)}.build()
	tests := []struct {
		name    string
		objs    map[string][]byte
		ref     StackRef
		locks   bool
		want    []string
		wantMax int
		locked  bool
	}{
		{
			name: "plain checkpoint: one round of four",
			objs: map[string][]byte{metaKey: []byte("version: 1\n"), ".pulumi/stacks/demo/dev.json": cp,
				".pulumi/locks/organization/demo/dev/1.json": []byte("{}")},
			ref: StackRef{"demo", "dev"}, locks: true, locked: true,
			want: []string{
				"GET .pulumi/meta.yaml", "GET .pulumi/stacks/demo/dev.json",
				"LIST .pulumi/locks/organization/demo/dev/", "LIST .pulumi/stacks/demo/dev.json",
			},
			wantMax: 4,
		},
		{
			name:    "no lock listing asked",
			objs:    map[string][]byte{metaKey: []byte("version: 1\n"), ".pulumi/stacks/demo/dev.json": cp},
			ref:     StackRef{"demo", "dev"},
			want:    []string{"GET .pulumi/meta.yaml", "GET .pulumi/stacks/demo/dev.json", "LIST .pulumi/stacks/demo/dev.json"},
			wantMax: 3,
		},
		{
			name: "zstd is current: a second round reads it",
			objs: map[string][]byte{metaKey: []byte("version: 1\n"), ".pulumi/stacks/demo/dev.json.zst": zstdBytes(t, cp)},
			ref:  StackRef{"demo", "dev"}, locks: true,
			want: []string{
				"GET .pulumi/meta.yaml", "GET .pulumi/stacks/demo/dev.json", "GET .pulumi/stacks/demo/dev.json.zst",
				"LIST .pulumi/locks/organization/demo/dev/", "LIST .pulumi/stacks/demo/dev.json",
			},
			wantMax: 4,
		},
		{
			name: "legacy layout: a second round with its keys",
			objs: map[string][]byte{metaKey: []byte("version: 0\n"), ".pulumi/stacks/dev.json": cp},
			ref:  StackRef{"demo", "dev"}, locks: true,
			want: []string{
				"GET .pulumi/meta.yaml", "GET .pulumi/stacks/demo/dev.json", "GET .pulumi/stacks/dev.json",
				"LIST .pulumi/locks/dev/", "LIST .pulumi/locks/organization/demo/dev/",
				"LIST .pulumi/stacks/demo/dev.json", "LIST .pulumi/stacks/dev.json",
			},
			wantMax: 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := NewMemStore()
			for k, v := range tt.objs {
				mem.Put(k, v, t0)
			}
			rs := newRoundStore(mem)
			res, err := NewBackend(nil, rs).Provider(ctx, tt.ref, LookupOptions{Locks: tt.locks})
			if err != nil || !sameProvider(&res.Provider, provKMS) {
				t.Fatalf("Provider = %+v, %v", res.Provider, err)
			}
			if res.Locked != tt.locked {
				t.Errorf("Locked = %v, want %v", res.Locked, tt.locked)
			}
			if got := rs.requests(); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if rs.maxIn != tt.wantMax {
				t.Errorf("%d requests in flight at most, want %d together", rs.maxIn, tt.wantMax)
			}
		})
	}
}

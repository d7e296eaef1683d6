package storetest

import (
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/state/store"
)

var memModTime = time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC)

func openMem(t *testing.T, objects map[string][]byte) store.Store {
	s := NewMem()
	for k, v := range objects {
		s.Put(k, v, memModTime)
	}
	return s
}

func TestMem(t *testing.T) {
	Contract(t, openMem)
}

// TestMemModTime: List and Stat report the time an object was put.
func TestMemModTime(t *testing.T) {
	ctx := context.Background()
	s := openMem(t, map[string][]byte{"a/b": []byte("x")})
	err := s.List(ctx, "", true, func(o store.Object) error {
		if !o.ModTime.Equal(memModTime) {
			t.Errorf("List: %s has ModTime %v, want %v", o.Key, o.ModTime, memModTime)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if o, err := s.Stat(ctx, "a/b"); err != nil || !o.ModTime.Equal(memModTime) {
		t.Errorf("Stat = %+v, %v; want ModTime %v", o, err, memModTime)
	}
}

// TestWrappers: Counting counts reads and bytes, Faults fails what it is
// told to, and Recorder records every request.
func TestWrappers(t *testing.T) {
	ctx := context.Background()
	mem := openMem(t, map[string][]byte{"k": make([]byte, 300), "l": []byte("x")})

	c := NewCounting(mem)
	for range 2 {
		rc, err := c.ReadRange(ctx, "k", 0, 200)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, rc)
		rc.Close()
	}
	if c.Reads() != 2 || c.Bytes() != 400 {
		t.Errorf("Counting: %d reads of %d bytes, want 2 of 400", c.Reads(), c.Bytes())
	}

	boom := errors.New("boom")
	f := NewFaults(mem, map[string]error{"l": store.ErrAccessDenied}, map[string]error{"k": boom})
	if _, err := f.ReadRange(ctx, "l", 0, -1); !errors.Is(err, store.ErrAccessDenied) || !strings.Contains(err.Error(), "mem://l") {
		t.Errorf("NewFaults(…).ReadRange(l) = %v, want access denied naming mem://l", err)
	}
	rc, err := f.ReadRange(ctx, "k", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if len(got) != 100 || !errors.Is(err, boom) || !strings.Contains(err.Error(), "mem://k") {
		t.Errorf("Faults: read %d bytes then %v, want 100 then boom naming mem://k", len(got), err)
	}

	r := NewRecorder(mem, time.Millisecond)
	_ = r.List(ctx, "", true, func(store.Object) error { return nil })
	_, _ = r.Stat(ctx, "l")
	if rc, err := r.ReadRange(ctx, "l", 0, -1); err == nil {
		rc.Close()
	}
	if got, want := r.Requests(), []string{"GET l", "HEAD l", "LIST "}; !reflect.DeepEqual(got, want) || r.MaxInFlight() != 1 {
		t.Errorf("Recorder: %q, %d in flight at most; want %q, 1", got, r.MaxInFlight(), want)
	}
}

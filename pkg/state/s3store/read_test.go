package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// TestS3ReadRangeHeaders pins the Range header of each (off, n) ReadRange
// is asked for, and the bytes it returns. (0, 65536) is the 64 KiB head
// window; (0, -1) is the one unranged GET of a whole checkpoint.
func TestS3ReadRangeHeaders(t *testing.T) {
	f := newFakeS3(t)
	obj := randomBytes(100_000)
	f.put(objKey, obj, "v1")
	s := f.store(t, Options{})
	tests := []struct {
		off, n    int64
		wantRange string // "" means no Range header
		want      []byte
	}{
		{0, 65536, "bytes=0-65535", obj[:65536]},
		{65536, -1, "bytes=65536-", obj[65536:]},
		{0, -1, "", obj},
		{10, 5, "bytes=10-14", obj[10:15]},
		{0, 1, "bytes=0-0", obj[:1]},
		{99_999, -1, "bytes=99999-", obj[99_999:]},
		{0, 200_000, "bytes=0-199999", obj},
		{100_000, -1, "bytes=100000-", nil}, // at the end: 416, read as empty
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d,%d", tt.off, tt.n), func(t *testing.T) {
			before := len(f.requests())
			rc, err := s.ReadRange(context.Background(), objKey, tt.off, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readAllWithin(t, rc, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("got %d bytes, want %d (bytes differ: %v)", len(got), len(tt.want), len(got) == len(tt.want))
			}
			reqs := f.requests()[before:]
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1: %+v", len(reqs), reqs)
			}
			if r := reqs[0]; r.Method != http.MethodGet || r.Path != "/bkt/"+objKey || r.Range != tt.wantRange || r.IfMatch != "" {
				t.Errorf("request %+v, want GET /bkt/%s with Range %q and no If-Match", r, objKey, tt.wantRange)
			}
		})
	}
	t.Run("n=0 sends nothing", func(t *testing.T) {
		before := len(f.requests())
		rc, err := s.ReadRange(context.Background(), objKey, 5, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := io.ReadAll(rc); len(got) != 0 || len(f.requests()) != before {
			t.Errorf("ReadRange(5, 0) read %d bytes with %d requests", len(got), len(f.requests())-before)
		}
	})
}

// TestS3ReadRangeResume breaks the body of the first GET in the ways a
// network does, and checks the reader GETs the rest from the offset reached
// with If-Match on the first ETag, returning the object's exact bytes.
func TestS3ReadRangeResume(t *testing.T) {
	const k = 40_000 // bytes sent before the break
	obj := randomBytes(100_000)
	tests := []struct {
		name      string
		off, n    int64
		brk       func(conn net.Conn) // how the first transfer breaks
		wantRange string              // the resuming GET's Range
		want      []byte
	}{
		{"reset whole object", 0, -1, reset, "bytes=40000-", obj},
		{"truncated whole object", 0, -1, func(c net.Conn) { _ = c.Close() }, "bytes=40000-", obj},
		{"truncated tail", 50_000, -1, func(c net.Conn) { _ = c.Close() }, "bytes=90000-", obj[50_000:]},
		{"reset window", 0, 65536, reset, "bytes=40000-65535", obj[:65536]},
		{"truncated window", 1000, 60_000, func(c net.Conn) { _ = c.Close() }, "bytes=41000-60999", obj[1000:61_000]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeS3(t)
			f.put(objKey, obj, "v1")
			delivered := make(chan struct{})
			f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
				if i != 0 {
					return false
				}
				conn := f.partialReply(t, w, r, objKey, k)
				if conn == nil {
					return true
				}
				// Break only once the client has read the k bytes, so
				// the offset it resumes from is known.
				select {
				case <-delivered:
				case <-time.After(10 * time.Second):
					t.Error("the client never read the first bytes")
				}
				tt.brk(conn)
				return true
			}
			s := f.store(t, Options{})
			rc, err := s.ReadRange(context.Background(), objKey, tt.off, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			head := make([]byte, k)
			if _, err := io.ReadFull(rc, head); err != nil {
				t.Fatal(err)
			}
			close(delivered)
			rest, err := readAllWithin(t, rc, 10*time.Second)
			if err != nil {
				t.Fatalf("after the break: %v", err)
			}
			if got := append(head, rest...); !bytes.Equal(got, tt.want) {
				t.Errorf("got %d bytes, want the %d bytes of the object range (equal length: %v)", len(got), len(tt.want), len(got) == len(tt.want))
			}
			reqs := f.requests()
			if len(reqs) != 2 {
				t.Fatalf("%d requests, want 2: %+v", len(reqs), reqs)
			}
			if r := reqs[1]; r.Range != tt.wantRange || r.IfMatch != `"v1"` {
				t.Errorf("resuming request %+v, want Range %q and If-Match \"v1\"", r, tt.wantRange)
			}
		})
	}
}

// TestS3ReadRangeResumeFails: a body that breaks on every attempt, an
// object replaced between two GETs, and a server that ignores Range all
// fail with a message naming the object, after a bounded number of GETs.
func TestS3ReadRangeResumeFails(t *testing.T) {
	obj := randomBytes(10_000)
	tests := []struct {
		name     string
		setup    func(t *testing.T, f *fakeS3)
		wantGets int
		want     string
	}{{
		name: "truncated every time",
		setup: func(t *testing.T, f *fakeS3) {
			f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
				if conn := f.partialReply(t, w, r, objKey, 100); conn != nil {
					_ = conn.Close()
				}
				return true
			}
		},
		wantGets: 3,
		want:     "reading s3://bkt/" + objKey + ": the body ended after 300 of 10000 bytes (3 attempts)",
	}, {
		name: "object replaced",
		setup: func(t *testing.T, f *fakeS3) {
			f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
				if i != 0 {
					return false
				}
				if conn := f.partialReply(t, w, r, objKey, 100); conn != nil {
					_ = conn.Close()
				}
				f.put(objKey, obj, "v2")
				return true
			}
		},
		wantGets: 2,
		want:     "reading s3://bkt/" + objKey + ": the object changed while it was being read",
	}, {
		// A server that ignores If-Match and answers the resuming GET
		// with another version: never spliced onto the first bytes.
		name: "another version despite If-Match",
		setup: func(t *testing.T, f *fakeS3) {
			f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
				if i != 0 {
					r.Header.Del("If-Match")
					return false
				}
				if conn := f.partialReply(t, w, r, objKey, 100); conn != nil {
					_ = conn.Close()
				}
				f.put(objKey, randomBytes(10_001), "v2")
				return true
			}
		},
		wantGets: 2,
		want:     "reading s3://bkt/" + objKey + `: the object changed while it was being read (the body ended after 100 of 10000 bytes; resuming got ETag "v2" where the read began with "v1"); run the command again`,
	}, {
		name: "range ignored",
		setup: func(t *testing.T, f *fakeS3) {
			f.ignoreRange = true
			f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
				if i != 0 {
					return false
				}
				if conn := f.partialReply(t, w, r, objKey, 100); conn != nil {
					_ = conn.Close()
				}
				return true
			}
		},
		wantGets: 2,
		want:     `reading s3://bkt/` + objKey + `: resuming at byte 100, the server answered Content-Range ""`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeS3(t)
			f.put(objKey, obj, "v1")
			tt.setup(t, f)
			s := f.store(t, Options{})
			rc, err := s.ReadRange(context.Background(), objKey, 0, -1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readAllWithin(t, rc, 10*time.Second)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("read %d bytes, err %v; want an error starting %q", len(got), err, tt.want)
			}
			if n := len(f.requests()); n != tt.wantGets {
				t.Errorf("%d GETs, want %d", n, tt.wantGets)
			}
		})
	}
}

// TestS3IdleBody: a body that stops sending fails after IdleBodyTimeout on
// each attempt, naming the object, instead of hanging.
func TestS3IdleBody(t *testing.T) {
	f := newFakeS3(t)
	f.put(objKey, randomBytes(10_000), "v1")
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
		if conn := f.partialReply(t, w, r, objKey, 100); conn != nil {
			<-done // hold the connection open, sending nothing
			_ = conn.Close()
		}
		return true
	}
	s := f.store(t, Options{IdleBodyTimeout: 200 * time.Millisecond, MaxAttempts: 2})
	start := time.Now()
	rc, err := s.ReadRange(context.Background(), objKey, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = readAllWithin(t, rc, 10*time.Second)
	want := "reading s3://bkt/" + objKey + ": the server sent no data for 200ms after 200 bytes (2 attempts)"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err %v, want %q", err, want)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s, want about 2 × 200ms", d)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d GETs, want 2", n)
	}
}

// TestS3Stat: one HEAD request gives the object's size and modification
// time; a missing key is not found, naming the object.
func TestS3Stat(t *testing.T) {
	f := newFakeS3(t)
	obj := randomBytes(1234)
	f.put(objKey, obj, "v1")
	s := f.store(t, Options{})
	o, err := s.Stat(context.Background(), objKey)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.Object{Key: objKey, Size: int64(len(obj)), ModTime: fakeModTime}); o.Key != want.Key || o.Size != want.Size || !o.ModTime.Equal(want.ModTime) {
		t.Errorf("Stat = %+v, want %+v", o, want)
	}
	reqs := f.requests()
	if len(reqs) != 1 || reqs[0].Method != http.MethodHead || reqs[0].Path != "/bkt/"+objKey {
		t.Errorf("requests %+v, want one HEAD /bkt/%s", reqs, objKey)
	}
	_, err = s.Stat(context.Background(), ".pulumi/stacks/p/missing.json")
	if want := "looking up s3://bkt/.pulumi/stacks/p/missing.json: not found"; !errors.Is(err, store.ErrNotFound) || err.Error() != want {
		t.Errorf("Stat(missing) = %v, want %q", err, want)
	}
}

package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// TestS3RedirectLoop: a 307 to itself is followed MaxRedirects times, not
// retried, and fails with one line naming the URL.
func TestS3RedirectLoop(t *testing.T) {
	for _, op := range []string{"get", "list"} {
		t.Run(op, func(t *testing.T) {
			f := newFakeS3(t)
			f.put(objKey, []byte("{}"), "v1")
			f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Location", "http://"+r.Host+r.URL.RequestURI())
				w.WriteHeader(http.StatusTemporaryRedirect)
				return true
			}
			s := f.store(t, Options{MaxRedirects: 3})
			start := time.Now()
			var err error
			if op == "get" {
				_, err = s.ReadRange(context.Background(), objKey, 0, -1)
			} else {
				err = s.List(context.Background(), ".pulumi/", true, func(store.Object) error { return nil })
			}
			path := "/bkt/" + objKey
			if op == "list" {
				path = "/bkt"
			}
			want := "S3 endpoint " + f.srv.URL + " for s3://bkt redirected too often: GET " + f.srv.URL + path + " was redirected more than 3 times; check the endpoint"
			if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err %v, want one line holding %q", err, want)
			}
			if n := len(f.requests()); n != 4 {
				t.Errorf("%d requests, want 4: the first and 3 redirects, not retried", n)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

// TestS3RedirectFollowed: a 307 to where the object is, within the limit,
// is followed as the SDK follows it.
func TestS3RedirectFollowed(t *testing.T) {
	f := newFakeS3(t)
	obj := randomBytes(1000)
	f.put(objKey, obj, "v1")
	f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
		if i >= 2 {
			return false
		}
		w.Header().Set("Location", "http://"+r.Host+r.URL.RequestURI())
		w.WriteHeader(http.StatusTemporaryRedirect)
		return true
	}
	s := f.store(t, Options{MaxRedirects: 2})
	rc, err := s.ReadRange(context.Background(), objKey, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := readAllWithin(t, rc, 10*time.Second); err != nil || !bytes.Equal(got, obj) {
		t.Errorf("read %d bytes, err %v", len(got), err)
	}
}

// trickle answers r with the whole of body (200, or 206 for a ranged
// request), one byte every gap, until done is closed.
func (f *fakeS3) trickle(t *testing.T, w http.ResponseWriter, r *http.Request, body []byte, header http.Header, gap time.Duration, done <-chan struct{}) {
	status := "200 OK"
	if rg := r.Header.Get("Range"); rg != "" {
		start, end, _ := parseRange(rg, int64(len(body)))
		header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, len(body)))
		body = body[start : end+1]
		status = "206 Partial Content"
	}
	conn, rw := hijack(t, w)
	if conn == nil {
		return
	}
	defer conn.Close()
	header.Set("Content-Length", strconv.Itoa(len(body)))
	fmt.Fprintf(rw, "HTTP/1.1 %s\r\n", status)
	_ = header.Write(rw)
	_, _ = rw.WriteString("\r\n")
	_ = rw.Flush()
	for _, b := range body {
		select {
		case <-done:
			return
		case <-time.After(gap):
		}
		if _, err := rw.Write([]byte{b}); err != nil {
			return
		}
		if rw.Flush() != nil {
			return
		}
	}
}

// TestS3TrickleBody: a body that keeps sending, a byte at a time, below
// MinBodyRate fails after MaxAttempts windows of IdleBodyTimeout, for an
// object and a listing alike, saying what was slow.
func TestS3TrickleBody(t *testing.T) {
	obj := randomBytes(10_000)
	for _, op := range []string{"get", "list"} {
		t.Run(op, func(t *testing.T) {
			f := newFakeS3(t)
			f.put(objKey, obj, "v1")
			done := make(chan struct{})
			t.Cleanup(func() { close(done) })
			f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
				h := http.Header{}
				body := obj
				if op == "list" {
					h.Set("Content-Type", "application/xml")
					body = []byte(`<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bkt</Name>` + strings.Repeat(" ", 10_000) + `</ListBucketResult>`)
				} else {
					h.Set("ETag", `"v1"`)
				}
				f.trickle(t, w, r, body, h, 20*time.Millisecond, done)
				return true
			}
			s := f.store(t, Options{IdleBodyTimeout: 300 * time.Millisecond, MaxAttempts: 2})
			start := time.Now()
			var err error
			if op == "get" {
				var rc io.ReadCloser
				if rc, err = s.ReadRange(context.Background(), objKey, 0, -1); err == nil {
					_, err = readAllWithin(t, rc, 10*time.Second)
				}
			} else {
				err = s.List(context.Background(), ".pulumi/", true, func(store.Object) error { return nil })
			}
			d := time.Since(start)
			want := map[string]string{
				"get":  "reading s3://bkt/" + objKey + ": the server sent the body too slowly: ",
				"list": "listing s3://bkt/.pulumi/: S3 endpoint " + f.srv.URL + " for s3://bkt sent a response body too slowly: ",
			}[op]
			if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "below the minimum of 1 KiB/s") || !strings.Contains(err.Error(), "(2 attempts)") {
				t.Errorf("err %v, want it to start %q and name the minimum rate and the attempts", err, want)
			}
			if d < 600*time.Millisecond || d > 3*time.Second {
				t.Errorf("failed after %s, want about 2 × 300ms", d)
			}
			if n := len(f.requests()); n != 2 {
				t.Errorf("%d requests, want 2", n)
			}
		})
	}
}

// TestS3SlowReader: a caller that pauses between reads longer than the
// window does not make a fast body slow: only the time spent waiting for
// the server counts.
func TestS3SlowReader(t *testing.T) {
	f := newFakeS3(t)
	obj := randomBytes(300_000)
	f.put(objKey, obj, "v1")
	// Counted in wall time, the 1.5 s of pauses would bring 300 KB where
	// 1 MiB a second is asked for; one attempt, so that a break shows.
	s := f.store(t, Options{IdleBodyTimeout: time.Second, MinBodyRate: 1 << 20, MaxAttempts: 1})
	rc, err := s.ReadRange(context.Background(), objKey, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got []byte
	buf := make([]byte, 64<<10)
	for {
		time.Sleep(300 * time.Millisecond)
		n, err := rc.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(got), err)
		}
	}
	if !bytes.Equal(got, obj) {
		t.Errorf("got %d bytes, want the object", len(got))
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// TestRateBody pins the rate check on its own: only time spent in Read
// counts, and a window that brings enough bytes starts the next.
func TestRateBody(t *testing.T) {
	slow := &stepReader{gap: 30 * time.Millisecond, n: 1, left: 100}
	b := &rateBody{rc: io.NopCloser(slow), rate: 100, window: 100 * time.Millisecond}
	_, err := io.ReadAll(b)
	var se *slowBodyError
	if !errors.As(err, &se) || se.bytes > 10 || se.waited < 100*time.Millisecond {
		t.Errorf("err %v, want a slow body of a few bytes after 100ms", err)
	}
	if want := "ms, below the minimum of 100 bytes/s"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err %v, want it to say %q", err, want)
	}
	fast := &stepReader{gap: 30 * time.Millisecond, n: 100, left: 1000}
	b = &rateBody{rc: io.NopCloser(fast), rate: 100, window: 100 * time.Millisecond}
	if got, err := io.ReadAll(b); err != nil || len(got) != 1000 {
		t.Errorf("fast enough: read %d bytes, err %v", len(got), err)
	}
}

// stepReader returns n bytes per Read after waiting gap, left in all.
type stepReader struct {
	gap     time.Duration
	n, left int
}

func (r *stepReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.gap)
	k := min(r.n, r.left, len(p))
	r.left -= k
	return k, nil
}

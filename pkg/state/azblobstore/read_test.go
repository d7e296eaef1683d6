package azblobstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// stallAfter answers a Get Blob with headers promising body (from the
// offset of its x-ms-range) and k bytes of it, then holds the connection
// until the test ends.
func stallAfter(t *testing.T, w http.ResponseWriter, r *http.Request, body []byte, etag string, k int) {
	status, extra := "200 OK", ""
	if m := rangeRE.FindStringSubmatch(r.Header.Get("x-ms-range")); m != nil {
		start, _ := strconv.Atoi(m[1])
		extra = fmt.Sprintf("Content-Range: bytes %d-%d/%d\r\n", start, len(body)-1, len(body))
		body, status = body[start:], "206 Partial Content"
	}
	conn, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(rw, "HTTP/1.1 %s\r\nContent-Length: %d\r\nETag: %s\r\nLast-Modified: %s\r\nx-ms-blob-type: BlockBlob\r\n%s\r\n", status, len(body), etag, fakeModTime.Format(http.TimeFormat), extra)
	_, _ = rw.Write(body[:min(k, len(body))])
	_ = rw.Flush()
}

// TestReadResumes: a body that stalls mid-transfer is abandoned after
// IdleBodyTimeout and the rest fetched with a range from the offset
// reached, conditional on the first ETag; a blob changed meanwhile is an
// error, never a mix of two versions.
func TestReadResumes(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 1000)
	for _, changed := range []bool{false, true} {
		t.Run(fmt.Sprintf("changed=%v", changed), func(t *testing.T) {
			f := newFakeAzure(t)
			f.put(objKey, body, "e1")
			f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
				if i != 0 {
					return false
				}
				stallAfter(t, w, r, body, `"e1"`, 3000)
				if changed {
					f.put(objKey, body, "e2")
				}
				return true
			}
			s := f.store(t, Options{IdleBodyTimeout: 200 * time.Millisecond}, nil)
			rc, err := s.ReadRange(context.Background(), objKey, 0, -1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			reqs := f.requests()
			if changed {
				want := "reading azblob://c/" + objKey + ": resuming after "
				if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "the blob changed while it was being read; run the command again") {
					t.Errorf("err %v, want it to start %q and say the blob changed", err, want)
				}
				return
			}
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("read %d bytes, %v; want the blob", len(got), err)
			}
			if len(reqs) != 2 || reqs[1].Header.Get("x-ms-range") != "bytes=3000-" || reqs[1].Header.Get("If-Match") != `"e1"` {
				t.Errorf("second request range %q if-match %q of %d requests, want bytes=3000- and \"e1\"", reqs[len(reqs)-1].Header.Get("x-ms-range"), reqs[len(reqs)-1].Header.Get("If-Match"), len(reqs))
			}
		})
	}
}

// TestReadGivesUp: a body that stalls on every fetch fails after
// MaxAttempts fetches, naming the blob.
func TestReadGivesUp(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 5000)
	f := newFakeAzure(t)
	f.put(objKey, body, "e1")
	f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
		stallAfter(t, w, r, body, `"e1"`, 100)
		return true
	}
	s := f.store(t, Options{IdleBodyTimeout: 100 * time.Millisecond, MaxAttempts: 2}, nil)
	rc, err := s.ReadRange(context.Background(), objKey, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	rc.Close()
	want := "reading azblob://c/" + objKey + ": the server sent no data for 100ms"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err %v, want it to start %q", err, want)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
	if !strings.Contains(err.Error(), "(2 attempts)") {
		t.Errorf("err %v does not count the attempts", err)
	}
	if _, err := rc.Read(make([]byte, 1)); err == nil {
		t.Error("read after close succeeded")
	}
}

// TestListMarkers: a listing pages with the service's marker; a marker
// repeated, or a page that starts over, is an error rather than a loop.
func TestListMarkers(t *testing.T) {
	for _, tt := range []struct {
		name, wantErr string
		fault         func(i int, w http.ResponseWriter, r *http.Request) bool
	}{
		{"pages", "", nil},
		{"ignored marker", "it ignored the continuation marker", func(i int, w http.ResponseWriter, r *http.Request) bool {
			q := r.URL.Query()
			q.Del("marker") // answer the first page again
			r.URL.RawQuery = q.Encode()
			return false
		}},
		{"repeated marker", "the service repeated the continuation marker", func(i int, w http.ResponseWriter, r *http.Request) bool {
			if i == 0 {
				return false
			}
			// An empty page that sends the caller back to the same marker.
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><EnumerationResults><Blobs></Blobs><NextMarker>%s</NextMarker></EnumerationResults>`, r.URL.Query().Get("marker"))
			return true
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAzure(t)
			for i := range 5 {
				f.put(fmt.Sprintf(".pulumi/stacks/p/s%d.json", i), []byte("{}"), "e")
			}
			f.fault = tt.fault
			s := f.store(t, Options{}, nil)
			s.pageSize = 2
			var keys []string
			err := s.List(context.Background(), ".pulumi/stacks/", true, func(o store.Object) error { keys = append(keys, o.Key); return nil })
			if tt.wantErr == "" {
				if err != nil || len(keys) != 5 || len(f.requests()) != 3 {
					t.Errorf("listed %v, %v in %d requests; want 5 keys in 3", keys, err, len(f.requests()))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err %v, want it to say %q", err, tt.wantErr)
			}
		})
	}
}

package state

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeS3 is an httptest server speaking enough path-style S3 for an
// S3Store: GetObject (Range, If-Match, ETag) and ListObjectsV2, with a
// fault hook that can take over any request.
type fakeS3 struct {
	srv    *httptest.Server
	bucket string

	mu      sync.Mutex
	objects map[string][]byte // key → body
	etags   map[string]string // key → quoted ETag
	reqs    []fakeReq
	// fault, if set, is called for every request with its index (from 0);
	// it returns true when it has answered the request itself.
	fault func(i int, w http.ResponseWriter, r *http.Request) bool
	// ignoreRange makes GetObject answer 200 with the whole object.
	ignoreRange bool
}

// fakeReq is what a test checks of a request.
type fakeReq struct {
	Method, Path, Query, Range, IfMatch string
}

func newFakeS3(t *testing.T) *fakeS3 {
	t.Helper()
	f := &fakeS3{bucket: "bkt", objects: map[string][]byte{}, etags: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeS3) put(key string, body []byte, etag string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objects[key] = body
	f.etags[key] = `"` + etag + `"`
}

func (f *fakeS3) requests() []fakeReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeReq(nil), f.reqs...)
}

func (f *fakeS3) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	i := len(f.reqs)
	f.reqs = append(f.reqs, fakeReq{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Range"), r.Header.Get("If-Match")})
	fault := f.fault
	f.mu.Unlock()
	if fault != nil && fault(i, w, r) {
		return
	}
	if r.URL.Query().Get("list-type") == "2" {
		f.list(w, r)
		return
	}
	key := strings.TrimPrefix(r.URL.Path, "/"+f.bucket+"/")
	f.mu.Lock()
	body, ok := f.objects[key]
	etag := f.etags[key]
	ignoreRange := f.ignoreRange
	f.mu.Unlock()
	if !ok {
		s3ErrorReply(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	if im := r.Header.Get("If-Match"); im != "" && im != etag {
		s3ErrorReply(w, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
		return
	}
	w.Header().Set("ETag", etag)
	rg := r.Header.Get("Range")
	if rg == "" || ignoreRange {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
		return
	}
	start, end, ok := parseRange(rg, int64(len(body)))
	if !ok {
		s3ErrorReply(w, http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range is not satisfiable")
		return
	}
	w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, len(body)))
	w.Header().Set("Content-Length", strconv.FormatInt(end-start+1, 10))
	w.WriteHeader(http.StatusPartialContent)
	_, _ = w.Write(body[start : end+1])
}

var rangeRE = regexp.MustCompile(`^bytes=(\d+)-(\d*)$`)

// parseRange parses the one-range forms an S3Store sends.
func parseRange(h string, size int64) (start, end int64, ok bool) {
	m := rangeRE.FindStringSubmatch(h)
	if m == nil {
		return 0, 0, false
	}
	start, _ = strconv.ParseInt(m[1], 10, 64)
	end = size - 1
	if m[2] != "" {
		end, _ = strconv.ParseInt(m[2], 10, 64)
		end = min(end, size-1)
	}
	return start, end, start < size && start <= end
}

func (f *fakeS3) list(w http.ResponseWriter, r *http.Request) {
	prefix := r.URL.Query().Get("prefix")
	f.mu.Lock()
	var b strings.Builder
	n := 0
	for k, v := range f.objects {
		if strings.HasPrefix(k, prefix) {
			n++
			fmt.Fprintf(&b, "<Contents><Key>%s</Key><Size>%d</Size><LastModified>2024-01-02T03:04:05.000Z</LastModified><ETag>%s</ETag></Contents>", k, len(v), f.etags[k])
		}
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/xml")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>%s</Name><Prefix>%s</Prefix><KeyCount>%d</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>%s</ListBucketResult>`, f.bucket, prefix, n, b.String())
}

// s3ErrorReply answers with an S3 error document.
func s3ErrorReply(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>r1</RequestId></Error>`, code, msg)
}

// hijack takes the raw connection of a request.
func hijack(t *testing.T, w http.ResponseWriter) (net.Conn, *bufio.ReadWriter) {
	conn, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return nil, nil
	}
	return conn, rw
}

// partialReply writes a 200 (or 206 for a ranged request) that promises
// the whole of body but sends only body[:k]; the caller then breaks or
// holds the connection.
func (f *fakeS3) partialReply(t *testing.T, w http.ResponseWriter, r *http.Request, key string, k int) net.Conn {
	f.mu.Lock()
	body, etag := f.objects[key], f.etags[key]
	f.mu.Unlock()
	status, extra := "200 OK", ""
	if rg := r.Header.Get("Range"); rg != "" {
		start, end, _ := parseRange(rg, int64(len(body)))
		extra = fmt.Sprintf("Content-Range: bytes %d-%d/%d\r\n", start, end, len(body))
		body = body[start : end+1]
		status = "206 Partial Content"
	}
	conn, rw := hijack(t, w)
	if conn == nil {
		return nil
	}
	fmt.Fprintf(rw, "HTTP/1.1 %s\r\nContent-Length: %d\r\nETag: %s\r\n%s\r\n", status, len(body), etag, extra)
	_, _ = rw.Write(body[:k])
	_ = rw.Flush()
	return conn
}

// reset closes a connection with a TCP RST.
func reset(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// store opens an S3Store on the fake server with opts; zero fields of opts
// get test-sized values, not the production defaults.
func (f *fakeS3) store(t *testing.T, opts S3StoreOptions) *S3Store {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": "/nonexistent/aws-config", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_S3": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "",
		"AWS_RETRY_MODE": "", "AWS_MAX_ATTEMPTS": "",
	} {
		t.Setenv(k, v)
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 10 * time.Millisecond // keep throttling retries fast
	}
	if opts.ResponseHeaderTimeout == 0 {
		opts.ResponseHeaderTimeout = 5 * time.Second
	}
	if opts.IdleBodyTimeout == 0 {
		opts.IdleBodyTimeout = 5 * time.Second
	}
	host := strings.TrimPrefix(f.srv.URL, "http://")
	u, err := ParseBackendURL("s3://"+f.bucket+"?endpoint="+host+"&disableSSL=true&s3ForcePathStyle=true&region=us-east-1", "/", "/")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewS3StoreWithOptions(context.Background(), u, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// randomBytes returns n bytes that differ at every offset often enough to
// show a misplaced resume.
func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// readAllWithin reads rc to the end, failing the test if that takes longer
// than d (a broken deadline would otherwise hang the test).
func readAllWithin(t *testing.T, rc io.ReadCloser, d time.Duration) ([]byte, error) {
	t.Helper()
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(rc)
		ch <- result{b, err}
	}()
	select {
	case r := <-ch:
		_ = rc.Close()
		return r.b, r.err
	case <-time.After(d):
		t.Fatalf("reading took more than %s", d)
		return nil, nil
	}
}

const objKey = ".pulumi/stacks/p/s.json"

// TestS3ReadRangeHeaders pins the Range header of each (off, n) ReadRange
// is asked for, and the bytes it returns. (0, 65536) is the 64 KiB head
// window; (0, -1) is the one unranged GET of a whole checkpoint.
func TestS3ReadRangeHeaders(t *testing.T) {
	f := newFakeS3(t)
	obj := randomBytes(100_000)
	f.put(objKey, obj, "v1")
	s := f.store(t, S3StoreOptions{})
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
			s := f.store(t, S3StoreOptions{})
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
			s := f.store(t, S3StoreOptions{})
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
	s := f.store(t, S3StoreOptions{IdleBodyTimeout: 200 * time.Millisecond, MaxAttempts: 2})
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

// TestS3HungEndpoint: a server that accepts the connection and never
// answers fails every request after MaxAttempts × ResponseHeaderTimeout,
// with a message naming the endpoint that does not read as the caller's
// own deadline.
func TestS3HungEndpoint(t *testing.T) {
	f := newFakeS3(t)
	f.put(objKey, []byte("{}"), "v1")
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
		if conn, _ := hijack(t, w); conn != nil {
			<-done
			_ = conn.Close()
		}
		return true
	}
	opts := S3StoreOptions{ResponseHeaderTimeout: 300 * time.Millisecond, MaxAttempts: 2}
	s := f.store(t, opts)
	for _, op := range []struct {
		name string
		call func() error
	}{
		{"get", func() error { _, err := s.ReadRange(context.Background(), objKey, 0, -1); return err }},
		{"list", func() error {
			return s.List(context.Background(), ".pulumi/", true, func(Object) error { return nil })
		}},
	} {
		t.Run(op.name, func(t *testing.T) {
			start := time.Now()
			err := op.call()
			d := time.Since(start)
			want := "S3 endpoint " + f.srv.URL + " for s3://bkt did not answer within 300ms (2 attempts)"
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err %v, want it to contain %q", err, want)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err %v matches context.DeadlineExceeded", err)
			}
			if strings.Contains(fmt.Sprint(err), "StatusCode") {
				t.Errorf("err %v carries the SDK's raw text", err)
			}
			if bound := opts.HangBound(); d < 600*time.Millisecond || d > bound+2*time.Second {
				t.Errorf("failed after %s, want between 600ms and %s", d, bound)
			}
		})
	}
}

// TestS3Cancel: a cancelled or expired context gives an error that wraps
// the context's error with a short message, not the SDK's text.
func TestS3Cancel(t *testing.T) {
	f := newFakeS3(t)
	f.put(objKey, randomBytes(1000), "v1")
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
		if conn, _ := hijack(t, w); conn != nil {
			<-done
			_ = conn.Close()
		}
		return true
	}
	s := f.store(t, S3StoreOptions{})
	for _, tt := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}, context.DeadlineExceeded},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			_, err := s.ReadRange(ctx, objKey, 0, -1)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want it to wrap %v", err, tt.want)
			}
			if want := "reading s3://bkt/" + objKey + ": " + tt.want.Error(); err.Error() != want {
				t.Errorf("err %q, want %q", err, want)
			}
		})
	}
}

// TestS3Retries: 5xx and throttling answers are retried by the standard
// retryer up to MaxAttempts, for GETs and listings alike.
func TestS3Retries(t *testing.T) {
	tests := []struct {
		name     string
		failures []int // statuses of the first answers
		codes    []string
		attempts int
		wantErr  string // "" for success
	}{
		{"503 SlowDown then ok", []int{503, 503}, []string{"SlowDown", "SlowDown"}, 3, ""},
		{"500 then ok", []int{500}, []string{"InternalError"}, 3, ""},
		{"502 503 then ok", []int{502, 503}, []string{"BadGateway", "ServiceUnavailable"}, 3, ""},
		{"503 past the attempts", []int{503, 503, 503}, []string{"SlowDown", "SlowDown", "SlowDown"}, 3, "answered 503 SlowDown for s3://bkt (3 attempts)"},
		{"fewer attempts", []int{500, 500}, []string{"InternalError", "InternalError"}, 2, "answered 500 InternalError for s3://bkt (2 attempts)"},
	}
	for _, tt := range tests {
		for _, op := range []string{"get", "list"} {
			t.Run(tt.name+"/"+op, func(t *testing.T) {
				f := newFakeS3(t)
				obj := randomBytes(1000)
				f.put(objKey, obj, "v1")
				f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
					if i >= len(tt.failures) {
						return false
					}
					s3ErrorReply(w, tt.failures[i], tt.codes[i], "try again")
					return true
				}
				s := f.store(t, S3StoreOptions{MaxAttempts: tt.attempts})
				var err error
				if op == "get" {
					var rc io.ReadCloser
					if rc, err = s.ReadRange(context.Background(), objKey, 0, -1); err == nil {
						var got []byte
						got, err = readAllWithin(t, rc, 10*time.Second)
						if err == nil && !bytes.Equal(got, obj) {
							t.Errorf("got %d bytes, want the object", len(got))
						}
					}
				} else {
					var keys []string
					err = s.List(context.Background(), ".pulumi/", true, func(o Object) error { keys = append(keys, o.Key); return nil })
					if err == nil && (len(keys) != 1 || keys[0] != objKey) {
						t.Errorf("listed %v", keys)
					}
				}
				switch {
				case tt.wantErr == "" && err != nil:
					t.Errorf("err %v, want success through retries", err)
				case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
					t.Errorf("err %v, want it to contain %q", err, tt.wantErr)
				}
				want := min(len(tt.failures)+1, tt.attempts)
				if n := len(f.requests()); n != want {
					t.Errorf("%d requests, want %d", n, want)
				}
			})
		}
	}
}

// TestS3ErrorMessages: what S3 servers answer for bad credentials, a wrong
// region, a missing bucket or key, mapped to the sentinels and to a hint.
func TestS3ErrorMessages(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		code     string
		msg      string
		header   map[string]string
		sentinel error
		want     string
	}{
		{"versitygw unknown key id", 404, "XAdminUserNotFound", "No user exists with the provided access key ID.", nil, ErrAccessDenied,
			"access denied (XAdminUserNotFound) on s3://bkt: the server knows no such access key id; check AWS_ACCESS_KEY_ID"},
		{"aws unknown key id", 403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", nil, ErrAccessDenied,
			"access denied (InvalidAccessKeyId) on s3://bkt: the server knows no such access key id"},
		{"wrong secret", 403, "SignatureDoesNotMatch", "The request signature we calculated does not match", nil, ErrAccessDenied,
			"access denied (SignatureDoesNotMatch) on s3://bkt: the secret access key does not match the access key id; check AWS_SECRET_ACCESS_KEY"},
		{"denied", 403, "AccessDenied", "Access Denied", nil, ErrAccessDenied,
			"access denied (AccessDenied) on s3://bkt: check the AWS credentials and the bucket policy"},
		{"versitygw wrong region", 400, "AuthorizationHeaderMalformed", `The authorization header is malformed; the region "us-east-1" is wrong; expecting "eu-west-1"`, nil, nil,
			"bucket s3://bkt is in region eu-west-1, not us-east-1: set AWS_REGION=eu-west-1 or add ?region=eu-west-1 to the backend URL"},
		{"aws wrong region", 400, "AuthorizationHeaderMalformed", "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'ap-south-1'", nil, nil,
			"bucket s3://bkt is in region ap-south-1, not us-east-1"},
		{"redirect", 301, "PermanentRedirect", "The bucket you are attempting to access must be addressed using the specified endpoint.", map[string]string{"X-Amz-Bucket-Region": "eu-central-1"}, nil,
			"bucket s3://bkt is in region eu-central-1, not us-east-1: set AWS_REGION=eu-central-1"},
		{"no such bucket", 404, "NoSuchBucket", "The specified bucket does not exist", nil, ErrNotFound,
			"not found: bucket s3://bkt does not exist; check the backend URL"},
		{"no such key", 404, "NoSuchKey", "The specified key does not exist.", nil, ErrNotFound, "not found: NoSuchKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeS3(t)
			f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				s3ErrorReply(w, tt.status, tt.code, tt.msg)
				return true
			}
			s := f.store(t, S3StoreOptions{})
			_, err := s.ReadRange(context.Background(), objKey, 0, -1)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("err %v does not wrap %v", err, tt.sentinel)
			}
			if tt.sentinel == nil && (errors.Is(err, ErrNotFound) || errors.Is(err, ErrAccessDenied)) {
				t.Errorf("err %v wraps a sentinel it should not", err)
			}
			if want := "reading s3://bkt/" + objKey + ": " + tt.want; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("err\n  %v\nwant it to start\n  %s", err, want)
			}
			if strings.Contains(err.Error(), "StatusCode") || strings.Contains(err.Error(), "\n") {
				t.Errorf("err %q is not one short line", err)
			}
		})
	}
}

// TestS3Unreachable: a refused connection names the endpoint and keeps the
// dial error for errors.As.
func TestS3Unreachable(t *testing.T) {
	f := newFakeS3(t)
	s := f.store(t, S3StoreOptions{MaxAttempts: 2})
	url := f.srv.URL
	f.srv.Close()
	_, err := s.ReadRange(context.Background(), objKey, 0, -1)
	want := "reading s3://bkt/" + objKey + ": cannot reach S3 endpoint " + url + " for s3://bkt: dial tcp "
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "; check the endpoint and that the server is up") {
		t.Errorf("err %v, want it to start %q", err, want)
	}
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Errorf("err %v does not wrap the dial error", err)
	}
}

// TestS3StoreOptionsDefaults pins the documented defaults and the hang
// bound they give.
func TestS3StoreOptionsDefaults(t *testing.T) {
	got := DefaultS3StoreOptions()
	want := S3StoreOptions{
		ConnectTimeout: 10 * time.Second, TLSHandshakeTimeout: 10 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second, IdleBodyTimeout: 20 * time.Second,
		MaxAttempts: 3, MaxBackoff: 5 * time.Second,
	}
	if got != want {
		t.Errorf("DefaultS3StoreOptions() = %+v, want %+v", got, want)
	}
	if b := got.HangBound(); b != 30*time.Second+150*time.Millisecond {
		t.Errorf("HangBound() = %s, want 30.15s", b)
	}
	if b := (S3StoreOptions{ResponseHeaderTimeout: time.Second, MaxAttempts: 1}).HangBound(); b != time.Second {
		t.Errorf("HangBound(1 attempt of 1s) = %s", b)
	}
}

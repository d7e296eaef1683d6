package s3store

import (
	"bufio"
	"context"
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

	"github.com/stacksync/stacksync/pkg/state/store"
)

// fakeS3 is an httptest server speaking enough path-style S3 for the
// store: GetObject and HeadObject (Range, If-Match, ETag) and
// ListObjectsV2, with a fault hook that can take over any request.
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

// fakeModTime is when every object of a fakeS3 was last modified.
var fakeModTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeReq is what a test checks of a request.
type fakeReq struct {
	Method, Path, Query, Range, IfMatch string
	Auth                                string // the Authorization header
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
	f.reqs = append(f.reqs, fakeReq{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Range"), r.Header.Get("If-Match"), r.Header.Get("Authorization")})
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
	w.Header().Set("Last-Modified", fakeModTime.Format(http.TimeFormat))
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

// parseRange parses the one-range forms the store sends.
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
			fmt.Fprintf(&b, "<Contents><Key>%s</Key><Size>%d</Size><LastModified>%s</LastModified><ETag>%s</ETag></Contents>", k, len(v), fakeModTime.Format("2006-01-02T15:04:05.000Z"), f.etags[k])
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

// store opens a store on the fake server with opts; zero fields of opts
// get test-sized values, not the production defaults.
func (f *fakeS3) store(t *testing.T, opts Options) store.Store {
	t.Helper()
	s, err := f.open(context.Background(), t, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// open is store with env set over the test credentials, returning New's
// error.
func (f *fakeS3) open(ctx context.Context, t *testing.T, opts Options, env map[string]string) (store.Store, error) {
	t.Helper()
	vars := map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": "/nonexistent/aws-config", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_S3": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "",
		"AWS_RETRY_MODE": "", "AWS_MAX_ATTEMPTS": "",
	}
	for k, v := range env {
		vars[k] = v
	}
	for k, v := range vars {
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
	// What s3://<bucket>?endpoint=<host>&disableSSL=true&s3ForcePathStyle=true&region=us-east-1
	// parses to.
	opts.Bucket = f.bucket
	opts.Endpoint = f.srv.URL
	opts.DisableHTTPS = true
	opts.PathStyle = true
	opts.Region = "us-east-1"
	opts.RequestChecksum = "when_required"
	return New(ctx, opts)
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

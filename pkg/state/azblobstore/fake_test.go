package azblobstore

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAzure is an httptest server speaking enough of the Blob service,
// path-style (/<account>/<container>/<blob>), for the store: List Blobs
// (prefix, delimiter, marker, maxresults), Get Blob (x-ms-range,
// If-Match) and Get Blob Properties, with a fault hook that can take over
// any request. It checks no signature.
type fakeAzure struct {
	srv       *httptest.Server
	account   string
	container string

	mu      sync.Mutex
	objects map[string][]byte // blob name → content
	etags   map[string]string
	reqs    []*http.Request
	// fault, if set, is called for every request with its index (from 0);
	// it returns true when it has answered the request itself.
	fault func(i int, w http.ResponseWriter, r *http.Request) bool
}

// fakeModTime is when every blob of a fakeAzure was last modified.
var fakeModTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// testKey is a well-formed account key; the fake checks no signature.
const testKey = "c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXk="

func newFakeAzure(t *testing.T) *fakeAzure {
	t.Helper()
	f := &fakeAzure{account: "acct", container: "c", objects: map[string][]byte{}, etags: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAzure) put(name string, body []byte, etag string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objects[name] = body
	f.etags[name] = `"` + etag + `"`
}

func (f *fakeAzure) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.reqs...)
}

// env is the environment of a store on f signing with an account key.
func (f *fakeAzure) env(extra map[string]string) func(string) string {
	env := map[string]string{"AZURE_STORAGE_ACCOUNT": f.account, "AZURE_STORAGE_KEY": testKey}
	if extra != nil {
		env = extra
	}
	return func(k string) string { return env[k] }
}

// store opens a store on f; zero deadlines and bounds of opts get
// test-sized values.
func (f *fakeAzure) store(t *testing.T, opts Options, env func(string) string) *azStore {
	t.Helper()
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 10 * time.Millisecond
	}
	if opts.ResponseHeaderTimeout == 0 {
		opts.ResponseHeaderTimeout = 5 * time.Second
	}
	if opts.IdleBodyTimeout == 0 {
		opts.IdleBodyTimeout = 5 * time.Second
	}
	opts.Container = f.container
	opts.Domain = strings.TrimPrefix(f.srv.URL, "http://")
	opts.Protocol = "http"
	if env == nil {
		env = f.env(nil)
	}
	s, err := open(opts, env)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fakeAzure) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	i := len(f.reqs)
	f.reqs = append(f.reqs, r)
	fault := f.fault
	f.mu.Unlock()
	if fault != nil && fault(i, w, r) {
		return
	}
	base := "/" + f.account + "/" + f.container
	switch {
	case r.URL.Path == base && r.URL.Query().Get("comp") == "list":
		f.list(w, r)
	case strings.HasPrefix(r.URL.Path, base+"/"):
		f.blob(w, r, strings.TrimPrefix(r.URL.Path, base+"/"))
	default:
		azureErrorReply(w, http.StatusNotFound, "ContainerNotFound", "The specified container does not exist.")
	}
}

var rangeRE = regexp.MustCompile(`^bytes=(\d+)-(\d*)$`)

func (f *fakeAzure) blob(w http.ResponseWriter, r *http.Request, name string) {
	f.mu.Lock()
	body, ok := f.objects[name]
	etag := f.etags[name]
	f.mu.Unlock()
	if !ok {
		azureErrorReply(w, http.StatusNotFound, "BlobNotFound", "The specified blob does not exist.")
		return
	}
	if im := r.Header.Get("If-Match"); im != "" && im != etag {
		azureErrorReply(w, http.StatusPreconditionFailed, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")
		return
	}
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Last-Modified", fakeModTime.Format(http.TimeFormat))
	h.Set("x-ms-blob-type", "BlockBlob")
	rg := r.Header.Get("x-ms-range")
	if rg == "" {
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
		return
	}
	m := rangeRE.FindStringSubmatch(rg)
	start, _ := strconv.Atoi(m[1])
	end := len(body) - 1
	if m[2] != "" {
		e, _ := strconv.Atoi(m[2])
		end = min(e, end)
	}
	if start >= len(body) {
		azureErrorReply(w, http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The range specified is invalid for the current size of the resource.")
		return
	}
	h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, len(body)))
	h.Set("Content-Length", strconv.Itoa(end-start+1))
	w.WriteHeader(http.StatusPartialContent)
	_, _ = w.Write(body[start : end+1])
}

// listResult is the List Blobs answer.
type listResult struct {
	XMLName    xml.Name   `xml:"EnumerationResults"`
	Prefix     string     `xml:"Prefix"`
	Marker     string     `xml:"Marker"`
	Blobs      []listBlob `xml:"Blobs>Blob"`
	Prefixes   []string   `xml:"Blobs>BlobPrefix>Name"`
	NextMarker string     `xml:"NextMarker"`
}

type listBlob struct {
	Name          string `xml:"Name"`
	LastModified  string `xml:"Properties>Last-Modified"`
	Etag          string `xml:"Properties>Etag"`
	ContentLength int    `xml:"Properties>Content-Length"`
	BlobType      string `xml:"Properties>BlobType"`
}

func (f *fakeAzure) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	prefix, delim, marker := q.Get("prefix"), q.Get("delimiter"), q.Get("marker")
	size, _ := strconv.Atoi(q.Get("maxresults"))
	if size == 0 {
		size = 5000
	}
	f.mu.Lock()
	var names []string
	for k := range f.objects {
		names = append(names, k)
	}
	sort.Strings(names)
	res := listResult{Prefix: prefix, Marker: marker}
	seenPrefix := map[string]bool{}
	n := 0
	for _, k := range names {
		if !strings.HasPrefix(k, prefix) || k < marker {
			continue
		}
		if n == size {
			res.NextMarker = k
			break
		}
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				p := k[:len(prefix)+i+1]
				if !seenPrefix[p] {
					seenPrefix[p] = true
					res.Prefixes = append(res.Prefixes, p)
				}
				continue
			}
		}
		res.Blobs = append(res.Blobs, listBlob{k, fakeModTime.Format(http.TimeFormat), f.etags[k], len(f.objects[k]), "BlockBlob"})
		n++
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/xml")
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(res)
}

// azureErrorReply answers with a Blob service error.
func azureErrorReply(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("x-ms-error-code", code)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, msg)
}

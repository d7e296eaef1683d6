package gsstore

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain points the metadata server of the application default
// credentials at a closed loopback port: no test may probe the real one.
func TestMain(m *testing.M) {
	os.Setenv("GCE_METADATA_HOST", "127.0.0.1:1")
	os.Exit(m.Run())
}

// fakeGCS is a JSON API server holding one bucket in memory: listings
// (prefix, delimiter, pages of pageSize), object metadata and media with
// Range. hook, if set, may answer a request itself.
type fakeGCS struct {
	bucket   string
	pageSize int
	modTime  time.Time

	mu      sync.Mutex
	objects map[string][]byte
	auth    []string // Authorization headers received
	hook    func(w http.ResponseWriter, r *http.Request) bool
}

func newFakeGCS(t *testing.T, bucket string, objects map[string][]byte) (*fakeGCS, *httptest.Server) {
	f := &fakeGCS{bucket: bucket, pageSize: 3, modTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), objects: objects}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

// apiErr writes a JSON API error document.
func apiErr(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"error":{"code":%d,"message":%q,"errors":[{"reason":"x","message":%q}]}}`, code, msg, msg)
}

func (f *fakeGCS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	hook := f.hook
	f.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/storage/v1/b/")
	if !ok || r.Method != http.MethodGet {
		apiErr(w, http.StatusBadRequest, "bad route")
		return
	}
	bucket, rest, _ := strings.Cut(rest, "/")
	if bucket != f.bucket {
		apiErr(w, http.StatusNotFound, "The specified bucket does not exist.")
		return
	}
	if rest == "o" {
		f.list(w, r)
		return
	}
	name, err := url.PathUnescape(strings.TrimPrefix(rest, "o/"))
	if err != nil {
		apiErr(w, http.StatusBadRequest, "bad name")
		return
	}
	f.mu.Lock()
	data, ok := f.objects[name]
	f.mu.Unlock()
	if !ok {
		apiErr(w, http.StatusNotFound, "No such object: "+f.bucket+"/"+name)
		return
	}
	if r.URL.Query().Get("alt") != "media" {
		_ = json.NewEncoder(w).Encode(f.meta(name, data))
		return
	}
	http.ServeContent(w, r, "", f.modTime, strings.NewReader(string(data)))
}

func (f *fakeGCS) meta(name string, data []byte) map[string]string {
	return map[string]string{"name": name, "size": strconv.Itoa(len(data)), "updated": f.modTime.Format(time.RFC3339Nano)}
}

func (f *fakeGCS) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	f.mu.Lock()
	var names []string
	for k := range f.objects {
		if strings.HasPrefix(k, prefix) && (delim == "" || !strings.Contains(k[len(prefix):], delim)) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	start, _ := strconv.Atoi(q.Get("pageToken"))
	out := map[string]any{}
	items := []map[string]string{}
	for i := start; i < len(names) && i < start+f.pageSize; i++ {
		items = append(items, f.meta(names[i], f.objects[names[i]]))
	}
	if len(items) > 0 {
		out["items"] = items
	}
	if start+f.pageSize < len(names) {
		out["nextPageToken"] = strconv.Itoa(start + f.pageSize)
	}
	f.mu.Unlock()
	_ = json.NewEncoder(w).Encode(out)
}

// env is a getenv over a map.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// emulatorEnv points a store at srv as STORAGE_EMULATOR_HOST.
func emulatorEnv(srv *httptest.Server) func(string) string {
	return env(map[string]string{"STORAGE_EMULATOR_HOST": strings.TrimPrefix(srv.URL, "http://")})
}

package harness

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync"
	"testing"
)

var dists struct {
	sync.Mutex
	dirs map[string]string // version -> DISTDIR
	errs map[string]error
}

// Dist runs `make dist VERSION=version DISTDIR=<temp>` in the main module,
// once per version per test binary, and returns DISTDIR: it holds
// <version>/, the release assets of that tag. The directory is removed by
// Main. Tests must not change it; copy it (CopyDir) to tamper with it.
func Dist(t testing.TB, version string) string {
	t.Helper()
	dists.Lock()
	defer dists.Unlock()
	if dists.dirs == nil {
		dists.dirs, dists.errs = map[string]string{}, map[string]error{}
	}
	if _, ok := dists.dirs[version]; !ok {
		dists.dirs[version], dists.errs[version] = makeDist(version)
	}
	if err := dists.errs[version]; err != nil {
		t.Fatalf("harness: make dist VERSION=%s: %v", version, err)
	}
	return dists.dirs[version]
}

func makeDist(version string) (string, error) {
	root, err := MainModuleDir()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "stacksync-dist-")
	if err != nil {
		return "", err
	}
	tempDirs.Lock()
	tempDirs.dirs = append(tempDirs.dirs, dir)
	tempDirs.Unlock()
	cmd := exec.Command("make", "--no-print-directory", "dist", "VERSION="+version, "DISTDIR="+dir)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%v\n%s", err, out)
	}
	return dir, nil
}

// FileServer is an HTTP server on 127.0.0.1 that serves a directory and
// records the path of every request, as a stand-in for a download site.
type FileServer struct {
	URL string // "http://127.0.0.1:<port>", no trailing slash

	mu       sync.Mutex
	requests []string
}

// ServeDir serves dir over HTTP until the test ends.
func ServeDir(t testing.TB, dir string) *FileServer {
	t.Helper()
	s := &FileServer{}
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Requests returns "METHOD /path" of each request so far, in order.
func (s *FileServer) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

package gsstore

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/state/internal/transfer"
	"github.com/stacksync/stacksync/pkg/state/store"
	"github.com/stacksync/stacksync/pkg/state/storetest"
)

// openAt opens a store with getenv's credentials, then points it at srv.
func openAt(t *testing.T, srv *httptest.Server, o Options, getenv func(string) string) *gsStore {
	t.Helper()
	s, err := open(context.Background(), o, getenv)
	if err != nil {
		t.Fatal(err)
	}
	s.endpoint = srv.URL + "/storage/v1/"
	s.errs.endpoint = srv.URL
	return s
}

func TestContract(t *testing.T) {
	for _, prefix := range []string{"", "team/a/"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			storetest.Contract(t, func(t *testing.T, objects map[string][]byte) store.Store {
				held := map[string][]byte{}
				if prefix != "" {
					held["team/outside"] = []byte("x") // next to the prefix, not in it
				}
				for k, v := range objects {
					held[prefix+k] = v
				}
				_, srv := newFakeGCS(t, "b", held)
				s, err := open(context.Background(), Options{Bucket: "b", Prefix: prefix}, emulatorEnv(srv))
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
		})
	}
}

func TestLocation(t *testing.T) {
	s, err := open(context.Background(), Options{Bucket: "b", Prefix: "p/"}, env(map[string]string{"GOOGLE_OAUTH_ACCESS_TOKEN": "t"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Location(".pulumi/meta.yaml"); got != "gs://b/p/.pulumi/meta.yaml" {
		t.Errorf("Location = %q", got)
	}
	if s.endpoint != "https://storage.googleapis.com/storage/v1/" {
		t.Errorf("endpoint = %q", s.endpoint)
	}
}

// TestAuthorization: the token is sent as a bearer token, and never under
// the emulator or anonymously.
func TestAuthorization(t *testing.T) {
	objects := map[string][]byte{".pulumi/meta.yaml": []byte("version: 1\n")}
	f, srv := newFakeGCS(t, "b", objects)
	s := openAt(t, srv, Options{Bucket: "b"}, env(map[string]string{"GOOGLE_OAUTH_ACCESS_TOKEN": "tok-123"}))
	if _, err := s.Stat(context.Background(), ".pulumi/meta.yaml"); err != nil {
		t.Fatal(err)
	}
	a := openAt(t, srv, Options{Bucket: "b", Anonymous: true}, env(map[string]string{"GOOGLE_OAUTH_ACCESS_TOKEN": "tok-123"}))
	if _, err := a.Stat(context.Background(), ".pulumi/meta.yaml"); err != nil {
		t.Fatal(err)
	}
	e, err := open(context.Background(), Options{Bucket: "b"}, env(map[string]string{"STORAGE_EMULATOR_HOST": srv.URL, "GOOGLE_OAUTH_ACCESS_TOKEN": "tok-123"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Stat(context.Background(), ".pulumi/meta.yaml"); err != nil {
		t.Fatal(err)
	}
	want := []string{"Bearer tok-123", "", ""}
	if strings.Join(f.auth, "|") != strings.Join(want, "|") {
		t.Errorf("Authorization headers = %q, want %q", f.auth, want)
	}
}

func TestErrors(t *testing.T) {
	const token = "ya29.secret-token-value"
	getenv := env(map[string]string{"GOOGLE_OAUTH_ACCESS_TOKEN": token})
	objects := map[string][]byte{".pulumi/meta.yaml": []byte("version: 1\n")}
	tests := []struct {
		name     string
		bucket   string
		status   int
		msg      string
		sentinel error
		mention  []string
	}{
		{"missing bucket", "nope", 0, "", store.ErrNotFound, []string{"bucket gs://nope does not exist"}},
		{"401", "b", 401, "Invalid Credentials", store.ErrAccessDenied, []string{"(401)", "GOOGLE_OAUTH_ACCESS_TOKEN", "Invalid Credentials"}},
		{"403", "b", 403, "sa@p.iam.gserviceaccount.com does not have storage.objects.list access", store.ErrAccessDenied, []string{"(403)", "roles/storage.objectViewer", "GOOGLE_OAUTH_ACCESS_TOKEN", "storage.objects.list"}},
		{"teapot", "b", 418, "", nil, []string{"418", "STORAGE_EMULATOR_HOST"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeGCS(t, "b", objects)
			if tt.status != 0 {
				f.hook = func(w http.ResponseWriter, r *http.Request) bool { apiErr(w, tt.status, tt.msg); return true }
			}
			s := openAt(t, srv, Options{Bucket: tt.bucket}, getenv)
			calls := map[string]error{
				"List": s.List(context.Background(), ".pulumi/", true, func(store.Object) error { return nil }),
			}
			_, calls["Stat"] = s.Stat(context.Background(), ".pulumi/meta.yaml")
			_, calls["ReadRange"] = s.ReadRange(context.Background(), ".pulumi/meta.yaml", 0, -1)
			for call, err := range calls {
				if err == nil {
					t.Errorf("%s: no error", call)
					continue
				}
				if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
					t.Errorf("%s: %v, want %v", call, err, tt.sentinel)
				}
				for _, m := range append(tt.mention, "gs://"+tt.bucket+"/.pulumi/") {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("%s: %q does not mention %q", call, err, m)
					}
				}
				if strings.Contains(err.Error(), token) {
					t.Errorf("%s: %q prints the token", call, err)
				}
			}
		})
	}
}

// TestMissingObject: a 404 for an object is not found, and says nothing of
// the bucket.
func TestMissingObject(t *testing.T) {
	_, srv := newFakeGCS(t, "my-bucket", map[string][]byte{})
	s := openAt(t, srv, Options{Bucket: "my-bucket"}, env(map[string]string{"GOOGLE_OAUTH_ACCESS_TOKEN": "t"}))
	_, err := s.Stat(context.Background(), ".pulumi/x")
	if !errors.Is(err, store.ErrNotFound) || strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Stat(missing) = %v", err)
	}
	_, err = s.ReadRange(context.Background(), ".pulumi/x", 0, -1)
	if !errors.Is(err, store.ErrNotFound) || strings.Contains(err.Error(), "does not exist") {
		t.Errorf("ReadRange(missing) = %v", err)
	}
}

// TestRetries: throttling and server errors are retried up to MaxAttempts,
// then reported with the attempts made.
func TestRetries(t *testing.T) {
	for _, status := range []int{429, 503, 500} {
		for _, fails := range []int{2, 3} {
			f, srv := newFakeGCS(t, "b", map[string][]byte{"k": []byte("v")})
			var n atomic.Int32
			f.hook = func(w http.ResponseWriter, r *http.Request) bool {
				if int(n.Add(1)) <= fails {
					apiErr(w, status, "slow down")
					return true
				}
				return false
			}
			s := openAt(t, srv, Options{Bucket: "b", MaxBackoff: time.Millisecond}, emulatorEnv(srv))
			_, err := s.Stat(context.Background(), "k")
			switch {
			case fails < transfer.DefaultMaxAttempts && err != nil:
				t.Errorf("%d × %d: %v, want success on the last attempt", fails, status, err)
			case fails >= transfer.DefaultMaxAttempts && (err == nil || !strings.Contains(err.Error(), "(3 attempts)") || !strings.Contains(err.Error(), "try again later")):
				t.Errorf("%d × %d: %v, want a failure after 3 attempts", fails, status, err)
			}
			if got := int(n.Load()); got != min(fails+1, transfer.DefaultMaxAttempts) {
				t.Errorf("%d × %d: %d requests", fails, status, got)
			}
		}
	}
}

// TestRepeatedPageToken: a listing that would never end fails.
func TestRepeatedPageToken(t *testing.T) {
	f, srv := newFakeGCS(t, "b", nil)
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		_, _ = io.WriteString(w, `{"items":[{"name":"a","size":"1","updated":"2026-01-01T00:00:00Z"}],"nextPageToken":"same"}`)
		return true
	}
	s := openAt(t, srv, Options{Bucket: "b"}, emulatorEnv(srv))
	n := 0
	err := s.List(context.Background(), "", true, func(store.Object) error { n++; return nil })
	if err == nil || !strings.Contains(err.Error(), "never end") || n != 2 {
		t.Errorf("List = %v after %d objects, want a repeated token error after 2", err, n)
	}
}

// TestPagination: every page is listed, in order.
func TestPagination(t *testing.T) {
	objects := map[string][]byte{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		objects["p/"+k] = []byte(k)
	}
	f, srv := newFakeGCS(t, "b", objects)
	f.pageSize = 2
	s := openAt(t, srv, Options{Bucket: "b"}, emulatorEnv(srv))
	var keys []string
	if err := s.List(context.Background(), "p/", false, func(o store.Object) error { keys = append(keys, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(keys, "") != "p/ap/bp/cp/dp/ep/fp/g" {
		t.Errorf("List = %q", keys)
	}
}

// TestRangeIgnored: a server that answers a ranged GET with the whole
// object still yields the range.
func TestRangeIgnored(t *testing.T) {
	f, srv := newFakeGCS(t, "b", nil)
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		_, _ = io.WriteString(w, "0123456789")
		return true
	}
	s := openAt(t, srv, Options{Bucket: "b"}, emulatorEnv(srv))
	for _, tt := range []struct {
		off, n int64
		want   string
	}{{2, 3, "234"}, {4, -1, "456789"}, {20, -1, ""}} {
		rc, err := s.ReadRange(context.Background(), "k", tt.off, tt.n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != tt.want {
			t.Errorf("ReadRange(%d, %d) = %q, %v; want %q", tt.off, tt.n, got, err, tt.want)
		}
	}
}

// TestHungServer: a server that accepts connections and never answers
// fails each attempt after ResponseHeaderTimeout.
func TestHungServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s, err := open(context.Background(), Options{Bucket: "b", ResponseHeaderTimeout: 50 * time.Millisecond, MaxBackoff: time.Millisecond},
		env(map[string]string{"STORAGE_EMULATOR_HOST": ln.Addr().String()}))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = s.Stat(context.Background(), "k")
	if err == nil || !strings.Contains(err.Error(), "did not answer within 50ms (3 attempts)") || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stat on a hung server = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}

// TestIdleBody: a body that stops mid-transfer fails after IdleBodyTimeout.
func TestIdleBody(t *testing.T) {
	f, srv := newFakeGCS(t, "b", nil)
	release := make(chan struct{})
	defer close(release)
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Length", "100")
		_, _ = io.WriteString(w, "0123")
		w.(http.Flusher).Flush()
		<-release
		return true
	}
	s := openAt(t, srv, Options{Bucket: "b", IdleBodyTimeout: 100 * time.Millisecond}, emulatorEnv(srv))
	rc, err := s.ReadRange(context.Background(), "k", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if string(got) != "0123" || err == nil || !strings.Contains(err.Error(), "no data for 100ms after 4 bytes") || !strings.Contains(err.Error(), "gs://b/k") {
		t.Errorf("ReadAll = %q, %v", got, err)
	}
}

// TestCancelMidBody: ending the context stops a read with its error.
func TestCancelMidBody(t *testing.T) {
	f, srv := newFakeGCS(t, "b", nil)
	release := make(chan struct{})
	defer close(release)
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		_, _ = io.WriteString(w, "0123")
		w.(http.Flusher).Flush()
		<-release
		return true
	}
	s := openAt(t, srv, Options{Bucket: "b"}, emulatorEnv(srv))
	ctx, cancel := context.WithCancel(context.Background())
	rc, err := s.ReadRange(ctx, "k", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = io.ReadAll(rc)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("ReadAll after cancel = %v", err)
	}
}

// TestResume: a body that breaks is fetched again from the offset reached,
// if the object's generation is unchanged, up to MaxAttempts fetches.
func TestResume(t *testing.T) {
	const data = "0123456789abcdef"
	tests := []struct {
		name   string
		breaks int    // fetches that break after 4 bytes
		gen    string // the generation the resumed GETs find
		off, n int64
		want   string
		err    string
	}{
		{"whole", 1, "7", 0, -1, data, ""},
		{"range", 2, "7", 2, 6, "234567", ""},
		{"tail", 1, "7", 3, -1, "3456789abcdef", ""},
		{"changed", 1, "8", 0, -1, "0123", "the object changed while it was being read"},
		{"every fetch breaks", 3, "7", 0, -1, "", "the body ended early, after 12 bytes (3 attempts)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeGCS(t, "b", nil)
			var fetches atomic.Int32
			f.hook = func(w http.ResponseWriter, r *http.Request) bool {
				i := int(fetches.Add(1))
				if g := r.URL.Query().Get("ifGenerationMatch"); i > 1 && g != tt.gen {
					apiErr(w, http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold.")
					return true
				}
				w.Header().Set("X-Goog-Generation", "7")
				if i <= tt.breaks {
					// Announce the rest of the range, send 4 bytes, then
					// cut the connection.
					rw := httptest.NewRecorder()
					http.ServeContent(rw, r, "", f.modTime, strings.NewReader(data))
					for k, v := range rw.Header() {
						w.Header()[k] = v
					}
					w.WriteHeader(rw.Code)
					_, _ = w.Write(rw.Body.Bytes()[:min(4, rw.Body.Len())])
					w.(http.Flusher).Flush()
					panic(http.ErrAbortHandler)
				}
				http.ServeContent(w, r, "", f.modTime, strings.NewReader(data))
				return true
			}
			s := openAt(t, srv, Options{Bucket: "b", MaxBackoff: time.Millisecond}, emulatorEnv(srv))
			rc, err := s.ReadRange(context.Background(), "k", tt.off, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			switch {
			case tt.err == "" && (err != nil || string(got) != tt.want):
				t.Errorf("ReadAll = %q, %v; want %q", got, err, tt.want)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "gs://b/k")):
				t.Errorf("ReadAll = %q, %v; want an error naming gs://b/k and saying %q", got, err, tt.err)
			}
		})
	}
}

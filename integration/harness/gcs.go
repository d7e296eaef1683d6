package harness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"
)

// GCSAccessToken is the GOOGLE_OAUTH_ACCESS_TOKEN the harness gives pulumi
// for fake-gcs-server. Its value does not matter: with
// STORAGE_EMULATOR_HOST set, gocloud's gcsblob sends no credentials at all,
// but pulumi insists on finding some before it opens the bucket.
const GCSAccessToken = "stacksync-test-token"

// GCS is a running fake-gcs-server (in-memory backend) on 127.0.0.1.
type GCS struct {
	Endpoint string // "http://127.0.0.1:<port>"
	HostPort string // "127.0.0.1:<port>", also the server's public host
	Client   *http.Client
}

// StartGCS starts fake-gcs-server on a free 127.0.0.1 port, waits until it
// answers the JSON API, and registers a cleanup that kills it.
//
// It runs with -public-host set to its own address: the Go storage client
// behind pulumi's gs:// backend reads objects from
// http://$STORAGE_EMULATOR_HOST/<bucket>/<object>, a route fake-gcs-server
// only serves to requests whose Host is its public host (by default
// storage.googleapis.com, which answers 404 here).
func StartGCS(t testing.TB) *GCS {
	t.Helper()
	bin := FindTools(t).FakeGCSPath(t)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(t)
		hp := hostPort(port)
		cmd := exec.Command(bin,
			"-scheme", "http",
			"-host", "127.0.0.1",
			"-port", fmt.Sprint(port),
			"-public-host", hp,
			"-external-url", "http://"+hp,
			"-backend", "memory",
			"-log-level", "warn")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		proc := startProcess(t, "fake-gcs-server", cmd)
		g := &GCS{Endpoint: "http://" + hp, HostPort: hp, Client: &http.Client{Timeout: 30 * time.Second}}
		lastErr = proc.waitFor("fake-gcs-server", 30*time.Second, func() error {
			_, err := g.do(http.MethodGet, "/storage/v1/b", "", nil, http.StatusOK)
			return err
		})
		if lastErr == nil {
			return g
		}
		_ = cmd.Process.Kill() // e.g. the port was taken meanwhile; retry
	}
	t.Fatalf("harness: starting fake-gcs-server: %v", lastErr)
	return nil
}

// Env returns what pulumi needs to reach the server: STORAGE_EMULATOR_HOST
// and a GOOGLE_OAUTH_ACCESS_TOKEN, the credential pulumi looks for first
// after GOOGLE_CREDENTIALS.
func (g *GCS) Env() []string {
	return []string{
		"STORAGE_EMULATOR_HOST=" + g.HostPort,
		"GOOGLE_OAUTH_ACCESS_TOKEN=" + GCSAccessToken,
	}
}

// BackendURL is the pulumi DIY backend URL gs://<bucket>[/<prefix>]. The
// server's address is not in it: it comes from STORAGE_EMULATOR_HOST (Env).
func (g *GCS) BackendURL(bucket, prefix string) string {
	u := "gs://" + bucket
	if p := strings.Trim(prefix, "/"); p != "" {
		u += "/" + p
	}
	return u
}

// do sends one request to the server and returns the body of an answer
// with status want.
func (g *GCS) do(method, pathAndQuery, contentType string, body []byte, want int) ([]byte, error) {
	req, err := http.NewRequest(method, g.Endpoint+pathAndQuery, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := g.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %s: %s", method, pathAndQuery, resp.Status, bytes.TrimSpace(b))
	}
	return b, nil
}

// CreateBucket creates bucket.
func (g *GCS) CreateBucket(t testing.TB, bucket string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"name": bucket})
	if _, err := g.do(http.MethodPost, "/storage/v1/b?project=stacksync", "application/json", body, http.StatusOK); err != nil {
		t.Fatalf("harness: creating gs://%s: %v", bucket, err)
	}
}

// PutObject stores body under key.
func (g *GCS) PutObject(t testing.TB, bucket, key string, body []byte) {
	t.Helper()
	p := "/upload/storage/v1/b/" + url.PathEscape(bucket) + "/o?uploadType=media&name=" + url.QueryEscape(key)
	if _, err := g.do(http.MethodPost, p, "application/octet-stream", body, http.StatusOK); err != nil {
		t.Fatalf("harness: putting gs://%s/%s: %v", bucket, key, err)
	}
}

// GetObject returns the content of key, failing the test if it is missing.
func (g *GCS) GetObject(t testing.TB, bucket, key string) []byte {
	t.Helper()
	b, err := g.TryGetObject(bucket, key)
	if err != nil {
		t.Fatalf("harness: getting gs://%s/%s: %v", bucket, key, err)
	}
	return b
}

// TryGetObject returns the content of key or the error.
func (g *GCS) TryGetObject(bucket, key string) ([]byte, error) {
	return g.do(http.MethodGet, "/storage/v1/b/"+url.PathEscape(bucket)+"/o/"+url.PathEscape(key)+"?alt=media", "", nil, http.StatusOK)
}

// ListKeys returns all object names in bucket starting with prefix, sorted.
func (g *GCS) ListKeys(t testing.TB, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	token := ""
	for {
		q := url.Values{"prefix": {prefix}}
		if token != "" {
			q.Set("pageToken", token)
		}
		b, err := g.do(http.MethodGet, "/storage/v1/b/"+url.PathEscape(bucket)+"/o?"+q.Encode(), "", nil, http.StatusOK)
		if err != nil {
			t.Fatalf("harness: listing gs://%s/%s: %v", bucket, prefix, err)
		}
		var page struct {
			Items []struct {
				Name string `json:"name"`
			} `json:"items"`
			NextPageToken string `json:"nextPageToken"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatalf("harness: listing gs://%s/%s: %v", bucket, prefix, err)
		}
		for _, it := range page.Items {
			keys = append(keys, it.Name)
		}
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	sort.Strings(keys)
	return keys
}

package harness

import (
	"bytes"
	"encoding/xml"
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

// The storage account every Azurite serves, with its published key.
const (
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Azurite is a running Azurite blob service on 127.0.0.1 holding the one
// account AzuriteAccount.
type Azurite struct {
	HostPort   string // "127.0.0.1:<port>"
	ServiceURL string // "http://127.0.0.1:<port>/devstoreaccount1" (path style)
	Account    string
	Key        string // base64 account key
	Dir        string // where Azurite keeps its blobs and metadata
	Client     *http.Client
}

// StartAzurite starts azurite-blob on a free 127.0.0.1 port with its data
// in a fresh t.TempDir(), waits until it answers a signed request, and
// registers a cleanup that kills it.
//
// It runs with --skipApiVersionCheck (the Azure SDKs pulumi releases embed
// may be newer than Azurite), --loose (ignore headers it does not know) and
// --disableTelemetry (otherwise it tries to reach a telemetry host).
func StartAzurite(t testing.TB) *Azurite {
	t.Helper()
	tools := FindTools(t)
	bin := tools.AzuriteBlobPath(t)
	dir := t.TempDir()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(t)
		hp := hostPort(port)
		cmd := exec.Command(bin,
			"--blobHost", "127.0.0.1",
			"--blobPort", fmt.Sprint(port),
			"--location", dir,
			"--skipApiVersionCheck",
			"--loose",
			"--disableTelemetry")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
		proc := startProcess(t, "azurite-blob", cmd)
		a := &Azurite{
			HostPort:   hp,
			ServiceURL: "http://" + hp + "/" + AzuriteAccount,
			Account:    AzuriteAccount,
			Key:        AzuriteKey,
			Dir:        dir,
			Client:     &http.Client{Timeout: 30 * time.Second},
		}
		lastErr = proc.waitFor("azurite-blob", 60*time.Second, func() error {
			_, err := a.do(http.MethodGet, "?comp=list", nil, nil, http.StatusOK)
			return err
		})
		if lastErr == nil {
			return a
		}
		_ = cmd.Process.Kill() // e.g. the port was taken meanwhile; retry
	}
	t.Fatalf("harness: starting azurite-blob: %v", lastErr)
	return nil
}

// Env returns the account name and key pulumi signs its requests with
// (AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_KEY: the first credential pulumi
// tries). The server's address goes into the URL (BackendURL) or into
// EnvOnly's variables.
func (a *Azurite) Env() []string {
	return []string{
		"AZURE_STORAGE_ACCOUNT=" + a.Account,
		"AZURE_STORAGE_KEY=" + a.Key,
	}
}

// BackendURL is the pulumi DIY backend URL
//
//	azblob://<container>[/<prefix>]?domain=127.0.0.1:<port>&protocol=http
//
// for use with Env. A domain that starts with 127.0.0.1 makes gocloud
// address the account path-style (http://127.0.0.1:<port>/<account>), as
// Azurite expects, without localemu=true.
func (a *Azurite) BackendURL(container, prefix string) string {
	return a.BareURL(container, prefix) + "?domain=" + a.HostPort + "&protocol=http"
}

// BareURL is azblob://<container>[/<prefix>] with no parameters, for use
// with EnvOnly or ConnectionStringEnv.
func (a *Azurite) BareURL(container, prefix string) string {
	u := "azblob://" + container
	if p := strings.Trim(prefix, "/"); p != "" {
		u += "/" + p
	}
	return u
}

// EnvOnly returns the environment that, with BareURL, reaches the server
// with nothing in the URL: Env plus AZURE_STORAGE_DOMAIN and
// AZURE_STORAGE_PROTOCOL.
func (a *Azurite) EnvOnly() []string {
	return append(a.Env(),
		"AZURE_STORAGE_DOMAIN="+a.HostPort,
		"AZURE_STORAGE_PROTOCOL=http",
	)
}

// ConnectionString is the account's connection string with the server's
// blob endpoint, as Azure tools print it for Azurite.
func (a *Azurite) ConnectionString() string {
	return "DefaultEndpointsProtocol=http;AccountName=" + a.Account +
		";AccountKey=" + a.Key +
		";BlobEndpoint=" + a.ServiceURL + ";"
}

// ConnectionStringEnv is AZURE_STORAGE_CONNECTION_STRING alone: with
// neither AZURE_STORAGE_KEY nor AZURE_STORAGE_SAS_TOKEN set, pulumi takes
// the account, key and endpoint from it. Use it with BareURL.
func (a *Azurite) ConnectionStringEnv() []string {
	return []string{"AZURE_STORAGE_CONNECTION_STRING=" + a.ConnectionString()}
}

// do sends one request signed with the account key to ServiceURL + rel
// (rel is "/<container>..." or "?..." for the account itself) and returns
// the body of an answer with status want.
func (a *Azurite) do(method, rel string, headers map[string]string, body []byte, want int) ([]byte, error) {
	req, err := http.NewRequest(method, a.ServiceURL+rel, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.ContentLength = int64(len(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if err := signSharedKey(req, a.Account, a.Key); err != nil {
		return nil, err
	}
	resp, err := a.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %s: %s", method, rel, resp.Status, bytes.TrimSpace(b))
	}
	return b, nil
}

// blobPath is "/<container>/<escaped key>", keeping the key's slashes.
func blobPath(container, key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return "/" + url.PathEscape(container) + "/" + strings.Join(parts, "/")
}

// CreateContainer creates container. pulumi never creates one itself.
func (a *Azurite) CreateContainer(t testing.TB, container string) {
	t.Helper()
	if _, err := a.do(http.MethodPut, "/"+url.PathEscape(container)+"?restype=container", nil, nil, http.StatusCreated); err != nil {
		t.Fatalf("harness: creating container %q: %v", container, err)
	}
}

// PutObject stores body as a block blob under key.
func (a *Azurite) PutObject(t testing.TB, container, key string, body []byte) {
	t.Helper()
	h := map[string]string{"x-ms-blob-type": "BlockBlob", "Content-Type": "application/octet-stream"}
	if _, err := a.do(http.MethodPut, blobPath(container, key), h, body, http.StatusCreated); err != nil {
		t.Fatalf("harness: putting azblob://%s/%s: %v", container, key, err)
	}
}

// GetObject returns the content of key, failing the test if it is missing.
func (a *Azurite) GetObject(t testing.TB, container, key string) []byte {
	t.Helper()
	b, err := a.TryGetObject(container, key)
	if err != nil {
		t.Fatalf("harness: getting azblob://%s/%s: %v", container, key, err)
	}
	return b
}

// TryGetObject returns the content of key or the error.
func (a *Azurite) TryGetObject(container, key string) ([]byte, error) {
	return a.do(http.MethodGet, blobPath(container, key), nil, nil, http.StatusOK)
}

// ListKeys returns all blob names in container starting with prefix, sorted.
func (a *Azurite) ListKeys(t testing.TB, container, prefix string) []string {
	t.Helper()
	var keys []string
	marker := ""
	for {
		q := url.Values{"restype": {"container"}, "comp": {"list"}, "prefix": {prefix}}
		if marker != "" {
			q.Set("marker", marker)
		}
		b, err := a.do(http.MethodGet, "/"+url.PathEscape(container)+"?"+q.Encode(), nil, nil, http.StatusOK)
		if err != nil {
			t.Fatalf("harness: listing azblob://%s/%s: %v", container, prefix, err)
		}
		var page struct {
			Blobs []struct {
				Name string `xml:"Name"`
			} `xml:"Blobs>Blob"`
			NextMarker string `xml:"NextMarker"`
		}
		if err := xml.Unmarshal(b, &page); err != nil {
			t.Fatalf("harness: listing azblob://%s/%s: %v", container, prefix, err)
		}
		for _, blob := range page.Blobs {
			keys = append(keys, blob.Name)
		}
		if marker = page.NextMarker; marker == "" {
			break
		}
	}
	sort.Strings(keys)
	return keys
}

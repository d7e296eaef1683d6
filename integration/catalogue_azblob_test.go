//go:build unix

package integration

// The bad-input catalogue's azblob:// rows: Azurite holding
// examples/backend, a proxy in front of it that never answers, and a Blob
// service that answers every request 503 ServerBusy. No row may print the
// account key, the SAS token or the connection string it was given.

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stacksync/stacksync/integration/harness"
)

// catAzure is what the azblob rows share.
type catAzure struct {
	a     *harness.Azurite
	hang  *harness.FaultProxy
	busy  *httptest.Server
	calls atomic.Int32 // requests the busy service answered
}

// catWrongKey is a well-formed account key Azurite does not hold.
var catWrongKey = strings.Repeat("A", 86) + "=="

// catBadSAS is a SAS token Azurite refuses; its signature must never be printed.
const catBadSAS = "sv=2022-11-02&ss=b&srt=sco&sp=rl&se=2099-01-01T00:00:00Z&sig=c3RhY2tzeW5jLXNlY3JldC1zaWduYXR1cmU%3D"

// startCatAzure starts Azurite with examples/backend in container state,
// the hanging proxy and the busy service.
func startCatAzure(t *testing.T, mainDir string) *catAzure {
	t.Helper()
	z := &catAzure{a: harness.StartAzurite(t)}
	z.a.CreateContainer(t, "state")
	dir := filepath.Join(mainDir, "examples", "backend")
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		z.a.PutObject(t, "state", filepath.ToSlash(rel), body)
		return nil
	})
	if err != nil {
		t.Fatalf("uploading %s to Azurite: %v", dir, err)
	}
	z.hang = harness.StartFaultProxy(t, "http://"+z.a.HostPort, harness.FaultRule{Fault: harness.FaultHang})
	z.busy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		z.calls.Add(1)
		w.Header().Set("x-ms-error-code", "ServerBusy")
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>The server is busy.</Message></Error>`))
	}))
	t.Cleanup(z.busy.Close)
	return z
}

// pairs are the tokens of the azblob rows and what they stand for.
func (z *catAzure) pairs() []string {
	return []string{
		"$AZURITE", z.a.HostPort,
		"$AZHANG", z.hang.HostPort,
		"$AZBUSY", strings.TrimPrefix(z.busy.URL, "http://"),
	}
}

// expand replaces the tokens of the azblob rows.
func (z *catAzure) expand(s string) string { return strings.NewReplacer(z.pairs()...).Replace(s) }

// unexpand turns the addresses of a message back into tokens.
func (z *catAzure) unexpand(s string) string {
	p := z.pairs()
	for i := 0; i < len(p); i += 2 {
		p[i], p[i+1] = p[i+1], p[i]
	}
	return strings.NewReplacer(p...).Replace(s)
}

// catAzureKey is the environment that signs with Azurite's account key.
var catAzureKey = []string{"AZURE_STORAGE_ACCOUNT=" + harness.AzuriteAccount, "AZURE_STORAGE_KEY=" + harness.AzuriteKey}

// catAzblobURL is the backend URL of container on the Blob service at host.
func catAzblobURL(host, container string) string {
	return "azblob://" + container + "?domain=" + host + "&protocol=http"
}

// catAzblobRows are the azblob:// rows.
func catAzblobRows() []catRow {
	sasSig := "c3RhY2tzeW5jLXNlY3JldC1zaWduYXR1cmU"
	return []catRow{{
		name: "azblob-wrong-key", backend: "Azurite",
		setup: catStaging,
		args:  catRestoreS3(catAzblobURL("$AZURITE", "state"), "staging"),
		env:   []string{"AZURE_STORAGE_ACCOUNT=" + harness.AzuriteAccount, "AZURE_STORAGE_KEY=" + catWrongKey},
		code:  1, want: "access denied (AuthorizationFailure) on azblob://state: check AZURE_STORAGE_KEY and AZURE_STORAGE_ACCOUNT",
		check: catNoSecret(catWrongKey),
	}, {
		name: "azblob-bad-sas", backend: "Azurite",
		setup: catStaging,
		args:  catRestoreS3(catAzblobURL("$AZURITE", "state"), "staging"),
		env:   []string{"AZURE_STORAGE_ACCOUNT=" + harness.AzuriteAccount, "AZURE_STORAGE_SAS_TOKEN=" + catBadSAS},
		code:  1, want: "check AZURE_STORAGE_SAS_TOKEN",
		check: catNoSecret(sasSig, catBadSAS),
	}, {
		name: "azblob-connection-string-wrong-key", backend: "Azurite",
		setup: catStaging,
		args:  catRestoreS3("azblob://state", "staging"),
		env: []string{"AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=http;AccountName=" + harness.AzuriteAccount +
			";AccountKey=" + catWrongKey + ";BlobEndpoint=http://$AZURITE/" + harness.AzuriteAccount + ";"},
		code: 1, want: "check AZURE_STORAGE_CONNECTION_STRING",
		check: catNoSecret(catWrongKey, "AccountKey="),
	}, {
		name: "azblob-no-account", backend: "Azurite",
		setup: catStaging,
		args:  catRestoreS3("azblob://state", "staging"),
		code:  1, want: "no storage account for azblob://state: set AZURE_STORAGE_ACCOUNT or add ?storage_account= to the backend URL",
	}, {
		name: "azblob-missing-container", backend: "Azurite",
		setup: catStaging,
		args:  catRestoreS3(catAzblobURL("$AZURITE", "no-such-container"), "staging"),
		env:   catAzureKey,
		code:  1, want: "container azblob://no-such-container does not exist (ContainerNotFound)",
		check: catNoSecret(harness.AzuriteKey),
	}, {
		name: "azblob-hang-timeout-2s", backend: "Azurite behind a proxy that never answers",
		setup: catStaging,
		args:  catRestoreS3(catAzblobURL("$AZHANG", "state"), "staging", "--timeout", "2s"),
		env:   catAzureKey,
		code:  1, want: "timed out", within: 5 * time.Second,
	}, {
		name: "azblob-throttled-503-ServerBusy", backend: "a Blob service answering 503 ServerBusy",
		setup: catStaging,
		args:  catRestoreS3(catAzblobURL("$AZBUSY", "state"), "staging"),
		env:   catAzureKey,
		code:  1, want: "answered 503 ServerBusy for azblob://state (3 attempts); the service is failing or throttling, try again later",
		within: 30 * time.Second,
	}}
}

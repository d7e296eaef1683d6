//go:build unix

package integration

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stacksync/stacksync/integration/harness"
)

// catGSToken is the access token the gs:// rows give stacksync: no message
// may print it.
const catGSToken = "ya29.catalogue-secret-token"

// catGS is the gs:// part of the catalogue's world: fake-gcs-server
// holding examples/backend, proxies in front of it that answer 403 or never
// answer, a server that answers 429 to every request, and a service
// account key whose token endpoint refuses it.
type catGS struct {
	gcs        *harness.GCS
	deny, hang *harness.FaultProxy
	throttle   string // 127.0.0.1:<port>
	key        string // the key's JSON
	keyPEM     string // its private key, which no message may print
}

// startCatGS starts the servers of the gs:// rows.
func startCatGS(t *testing.T) *catGS {
	t.Helper()
	g := &catGS{gcs: harness.StartGCS(t)}
	g.gcs.CreateBucket(t, "state")
	main, err := harness.MainModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(main, "examples", "backend")
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		g.gcs.PutObject(t, "state", filepath.ToSlash(rel), data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	g.deny = harness.StartFaultProxy(t, g.gcs.Endpoint, harness.FaultRule{Fault: harness.FaultForbidden})
	g.hang = harness.StartFaultProxy(t, g.gcs.Endpoint, harness.FaultRule{Fault: harness.FaultHang})
	throttle := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":{"code":429,"message":"The rate of change requests to the object is too high."}}`))
	}))
	t.Cleanup(throttle.Close)
	g.throttle = strings.TrimPrefix(throttle.URL, "http://")
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`))
	}))
	t.Cleanup(refuse.Close)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(rk)
	if err != nil {
		t.Fatal(err)
	}
	g.keyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	key, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "p", "private_key_id": "k1", "private_key": g.keyPEM,
		"client_email": "ci@p.iam.gserviceaccount.com", "token_uri": refuse.URL + "/token",
	})
	g.key = string(key)
	return g
}

// tokens are the gs:// rows' tokens and their values, longer tokens first
// (a replacer tries them in order).
func (g *catGS) tokens() []string {
	return []string{
		"$GSDENY", g.deny.HostPort,
		"$GSHANG", g.hang.HostPort,
		"$GS429", g.throttle,
		"$GSKEY", g.key,
		"$GS", g.gcs.HostPort,
	}
}

// gsCatRows are the catalogue's gs:// rows: credentials missing, in the
// wrong form or refused, a missing bucket, a refusal, a hung server and
// throttling. None may print the token or the key.
func gsCatRows(w *catWorld) []catRow {
	restore := catRestoreS3("gs://state", "staging")
	noSecret := catChecks(catOutLacks(catGSToken), catOutLacks("PRIVATE KEY"), catOutLacks(w.gs.keyPEM[40:80]), catOutLacks("ya29."))
	// Every row points the metadata server at a closed port, so that the
	// application default credentials never probe the real one.
	env := func(kv ...string) []string {
		return append([]string{"GCE_METADATA_HOST=$CLOSED"}, kv...)
	}
	return []catRow{{
		name: "gs-no-credentials", backend: "gs://, no credentials and no metadata server",
		setup: catStaging,
		env:   env(), args: restore, code: 1, want: "no other Google credentials were found",
		within: 30 * time.Second,
	}, {
		name: "gs-credentials-path", backend: "gs://",
		setup: catStaging,
		env:   env("GOOGLE_CREDENTIALS=/home/ci/key.json"), args: restore, code: 1, want: "set it to the contents of a key file, not its path",
	}, {
		name: "gs-credentials-refused", backend: "gs://, a token endpoint refusing the key",
		setup: catStaging,
		env:   env("GOOGLE_CREDENTIALS=$GSKEY"), args: restore, code: 1, want: "400 invalid_grant; check GOOGLE_CREDENTIALS",
		check: noSecret,
	}, {
		name: "gs-missing-bucket", backend: "fake-gcs-server",
		setup: catStaging,
		env:   env("STORAGE_EMULATOR_HOST=$GS", "GOOGLE_OAUTH_ACCESS_TOKEN="+catGSToken),
		args:  catRestoreS3("gs://no-such-bucket", "staging"), code: 1, want: "bucket gs://no-such-bucket does not exist",
		check: noSecret,
	}, {
		name: "gs-access-denied-403", backend: "fake-gcs-server behind a proxy answering 403",
		setup: catStaging,
		env:   env("STORAGE_EMULATOR_HOST=$GSDENY", "GOOGLE_OAUTH_ACCESS_TOKEN="+catGSToken), args: restore, code: 1, want: "access denied (403) on gs://state",
		check: noSecret,
	}, {
		name: "gs-hang-timeout-2s", backend: "fake-gcs-server behind a proxy that never answers",
		setup: catStaging,
		env:   env("STORAGE_EMULATOR_HOST=$GSHANG"), args: append(restore, "--timeout", "2s"), code: 1, want: "timed out",
		within: 5 * time.Second,
	}, {
		name: "gs-throttled-429", backend: "a server answering 429",
		setup: catStaging,
		env:   env("STORAGE_EMULATOR_HOST=$GS429", "GOOGLE_OAUTH_ACCESS_TOKEN="+catGSToken), args: restore, code: 1, want: "answered 429 Too Many Requests for gs://state (3 attempts)",
		within: 15 * time.Second, check: noSecret,
	}, {
		name: "gs-restore", backend: "fake-gcs-server",
		setup: catStaging,
		env:   env("STORAGE_EMULATOR_HOST=$GS"), args: restore, code: 0, want: "staging: updated Pulumi.staging.yaml",
	}}
}

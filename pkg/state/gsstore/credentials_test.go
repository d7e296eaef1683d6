package gsstore

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/pkg/state/store"
)

func TestChooseCredentials(t *testing.T) {
	const sa = `{"type":"service_account"}`
	tests := []struct {
		name     string
		env      map[string]string
		opts     Options
		kind     credKind
		fix      string
		endpoint string
	}{
		{"emulator wins over every credential", map[string]string{"STORAGE_EMULATOR_HOST": "127.0.0.1:4443", "GOOGLE_CREDENTIALS": sa, "GOOGLE_OAUTH_ACCESS_TOKEN": "t"},
			Options{Anonymous: true}, credEmulator, "STORAGE_EMULATOR_HOST", "http://127.0.0.1:4443/storage/v1/"},
		{"emulator URL keeps its scheme", map[string]string{"STORAGE_EMULATOR_HOST": "https://gcs.local:8443/"},
			Options{}, credEmulator, "STORAGE_EMULATOR_HOST", "https://gcs.local:8443/storage/v1/"},
		{"anonymous", map[string]string{"GOOGLE_CREDENTIALS": sa}, Options{Anonymous: true}, credAnonymous, "anonymous=true", "https://storage.googleapis.com/storage/v1/"},
		{"GOOGLE_CREDENTIALS first", map[string]string{"GOOGLE_CREDENTIALS": sa, "GOOGLE_OAUTH_ACCESS_TOKEN": "t", "GOOGLE_APPLICATION_CREDENTIALS": "/f"},
			Options{}, credJSON, "GOOGLE_CREDENTIALS", "https://storage.googleapis.com/storage/v1/"},
		{"then GOOGLE_OAUTH_ACCESS_TOKEN", map[string]string{"GOOGLE_OAUTH_ACCESS_TOKEN": "t", "GOOGLE_APPLICATION_CREDENTIALS": "/f"},
			Options{}, credToken, "GOOGLE_OAUTH_ACCESS_TOKEN", "https://storage.googleapis.com/storage/v1/"},
		{"then GOOGLE_APPLICATION_CREDENTIALS", map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": "/f"},
			Options{}, credDefault, "GOOGLE_APPLICATION_CREDENTIALS", "https://storage.googleapis.com/storage/v1/"},
		{"then the default credentials", nil, Options{}, credDefault, "gcloud auth application-default login", "https://storage.googleapis.com/storage/v1/"},
		{"universe domain", nil, Options{UniverseDomain: "example.eu"}, credDefault, "gcloud", "https://storage.example.eu/storage/v1/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := chooseCredentials(tt.opts.withDefaults(), env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if src.kind != tt.kind || !strings.Contains(src.fix, tt.fix) || src.endpoint != tt.endpoint {
				t.Errorf("chooseCredentials = %+v, want kind %d, fix mentioning %q, endpoint %q", src, tt.kind, tt.fix, tt.endpoint)
			}
		})
	}
	if _, err := chooseCredentials(Options{}, env(map[string]string{"STORAGE_EMULATOR_HOST": "http://"})); err == nil {
		t.Error("STORAGE_EMULATOR_HOST=http:// accepted")
	}
}

// serviceAccount returns a service account key whose token endpoint is a
// test server answering with token, or with status when it is not 200.
func serviceAccount(t *testing.T, token string, status int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if status != http.StatusOK {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": token, "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(srv.Close)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "p", "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "sa@p.iam.gserviceaccount.com", "token_uri": srv.URL + "/token",
	})
	return string(b)
}

// TestServiceAccount: a key in GOOGLE_CREDENTIALS or in the file
// GOOGLE_APPLICATION_CREDENTIALS names is exchanged for a token, which
// requests carry.
func TestServiceAccount(t *testing.T) {
	key := serviceAccount(t, "from-sa", http.StatusOK)
	file := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(file, []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", file) // read by oauth2/google itself
	for _, e := range []map[string]string{
		{"GOOGLE_CREDENTIALS": key},
		{"GOOGLE_APPLICATION_CREDENTIALS": file},
	} {
		f, srv := newFakeGCS(t, "b", map[string][]byte{"k": []byte("v")})
		s := openAt(t, srv, Options{Bucket: "b"}, env(e))
		if _, err := s.Stat(context.Background(), "k"); err != nil {
			t.Fatal(err)
		}
		if len(f.auth) != 1 || f.auth[0] != "Bearer from-sa" {
			t.Errorf("%v: Authorization = %q", e, f.auth)
		}
	}
}

// TestCredentialErrors: unusable credentials fail the open with access
// denied, naming what to fix and printing no secret.
func TestCredentialErrors(t *testing.T) {
	refused := serviceAccount(t, "", http.StatusBadRequest)
	var k struct {
		PrivateKey string `json:"private_key"`
	}
	_ = json.Unmarshal([]byte(refused), &k)
	broken := `{"type":"service_account","client_email":"sa@p","token_uri":"http://127.0.0.1:1/token","private_key":"-----BEGIN PRIVATE KEY-----\nnotakeynotakey\n-----END PRIVATE KEY-----\n"}`
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	tests := []struct {
		name    string
		env     map[string]string
		mention []string
		secrets []string
	}{
		{"a path in GOOGLE_CREDENTIALS", map[string]string{"GOOGLE_CREDENTIALS": "/home/u/key.json"}, []string{"GOOGLE_CREDENTIALS", "not its path"}, nil},
		{"an unknown type", map[string]string{"GOOGLE_CREDENTIALS": `{"type":"bogus","private_key":"SECRETSECRET"}`}, []string{"GOOGLE_CREDENTIALS", `"bogus"`}, []string{"SECRETSECRET"}},
		{"a broken key", map[string]string{"GOOGLE_CREDENTIALS": broken}, []string{"GOOGLE_CREDENTIALS", "private_key is not"}, []string{"notakeynotakey"}},
		{"a refused key", map[string]string{"GOOGLE_CREDENTIALS": refused}, []string{"GOOGLE_CREDENTIALS", "400 invalid_grant"}, []string{k.PrivateKey[40:80]}},
		{"no credentials", nil, []string{"GOOGLE_CREDENTIALS", "access token"}, nil},
		{"a missing file", map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": filepath.Join(home, "nope.json")}, []string{"GOOGLE_APPLICATION_CREDENTIALS"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if f := tt.env["GOOGLE_APPLICATION_CREDENTIALS"]; f != "" {
				t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", f)
			}
			_, err := open(context.Background(), Options{Bucket: "b"}, env(tt.env))
			if !errors.Is(err, store.ErrAccessDenied) {
				t.Fatalf("open = %v, want access denied", err)
			}
			for _, m := range append(tt.mention, "gs://b") {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("%q does not mention %q", err, m)
				}
			}
			for _, s := range tt.secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("%q prints a secret", err)
				}
			}
		})
	}
}

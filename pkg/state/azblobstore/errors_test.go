package azblobstore

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/state/store"
)

const objKey = ".pulumi/stacks/p/s.json"

// secrets are the credentials the tests give; no message may hold one.
var secrets = []string{testKey, "sig=c2lnbmF0dXJl", "AccountKey=" + testKey}

func checkNoSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) || strings.Contains(err.Error(), "c2lnbmF0dXJl") {
			t.Errorf("err %q prints a secret", err)
		}
	}
	if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "RESPONSE") {
		t.Errorf("err %q is not one short line", err)
	}
}

// TestErrorMessages: what the service answers for a missing container or
// blob and a refused credential, mapped to the sentinels, with a hint that
// names the variable holding the credential in use and prints no secret.
func TestErrorMessages(t *testing.T) {
	f := newFakeAzure(t)
	keyEnv := map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_KEY": testKey}
	sasEnv := map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_SAS_TOKEN": "?sv=2022-11-02&sig=c2lnbmF0dXJl"}
	connEnv := map[string]string{"AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=" + testKey + ";BlobEndpoint=" + f.srv.URL + "/acct;"}
	tests := []struct {
		name     string
		env      map[string]string
		status   int
		code     string
		sentinel error
		want     string
	}{
		{"missing container", keyEnv, 404, "ContainerNotFound", store.ErrNotFound,
			"not found: container azblob://c does not exist (ContainerNotFound) at " + f.srv.URL + "; check the backend URL"},
		{"missing blob", keyEnv, 404, "BlobNotFound", store.ErrNotFound, "not found: BlobNotFound"},
		{"wrong key", keyEnv, 403, "AuthorizationFailure", store.ErrAccessDenied,
			"access denied (AuthorizationFailure) on azblob://c: check AZURE_STORAGE_KEY and AZURE_STORAGE_ACCOUNT"},
		{"bad signature", keyEnv, 403, "AuthenticationFailed", store.ErrAccessDenied, "access denied (AuthenticationFailed) on azblob://c: check AZURE_STORAGE_KEY"},
		{"expired sas", sasEnv, 403, "AuthenticationFailed", store.ErrAccessDenied, "access denied (AuthenticationFailed) on azblob://c: check AZURE_STORAGE_SAS_TOKEN"},
		{"connection string", connEnv, 403, "AuthorizationPermissionMismatch", store.ErrAccessDenied,
			"access denied (AuthorizationPermissionMismatch) on azblob://c: check AZURE_STORAGE_CONNECTION_STRING"},
		{"other", keyEnv, 400, "InvalidResourceName", nil, "Azure Blob endpoint " + f.srv.URL + " answered 400 InvalidResourceName for azblob://c; check the backend URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
				azureErrorReply(w, tt.status, tt.code, "refused")
				return true
			}
			env := tt.env
			s := f.store(t, Options{}, func(k string) string { return env[k] })
			_, rerr := s.ReadRange(context.Background(), objKey, 0, -1)
			_, serr := s.Stat(context.Background(), objKey)
			lerr := s.List(context.Background(), ".pulumi/", true, func(store.Object) error { return nil })
			for _, e := range []struct {
				op  string
				err error
			}{{"reading", rerr}, {"looking up", serr}, {"listing", lerr}} {
				if e.err == nil {
					t.Fatalf("%s: no error", e.op)
				}
				checkNoSecret(t, e.err)
				if tt.sentinel != nil && !errors.Is(e.err, tt.sentinel) {
					t.Errorf("err %v does not wrap %v", e.err, tt.sentinel)
				}
				if tt.sentinel == nil && (errors.Is(e.err, store.ErrNotFound) || errors.Is(e.err, store.ErrAccessDenied)) {
					t.Errorf("err %v wraps a sentinel it should not", e.err)
				}
				if !strings.HasPrefix(e.err.Error(), e.op+" azblob://c/") || !strings.Contains(e.err.Error(), ": "+tt.want) {
					t.Errorf("err\n  %v\nwant %q … %q", e.err, e.op+" azblob://c/", tt.want)
				}
			}
			if tt.env["AZURE_STORAGE_SAS_TOKEN"] != "" {
				if q := f.requests()[len(f.requests())-1].URL.RawQuery; !strings.Contains(q, "sig=c2lnbmF0dXJl") {
					t.Errorf("request query %q does not carry the SAS", q)
				}
			}
		})
	}
}

// TestThrottling: 503 ServerBusy and 429 are retried up to MaxAttempts,
// then reported with the number of attempts.
func TestThrottling(t *testing.T) {
	for _, tt := range []struct {
		name     string
		failures int
		wantErr  string
	}{
		{"recovers", 2, ""},
		{"gives up", 3, "answered 503 ServerBusy for azblob://c (3 attempts); the service is failing or throttling, try again later"},
	} {
		for _, op := range []string{"get", "list", "stat"} {
			t.Run(tt.name+"/"+op, func(t *testing.T) {
				f := newFakeAzure(t)
				f.put(objKey, []byte("{}"), "e1")
				f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
					if i >= tt.failures {
						return false
					}
					azureErrorReply(w, http.StatusServiceUnavailable, "ServerBusy", "The server is busy.")
					return true
				}
				s := f.store(t, Options{}, nil)
				var err error
				switch op {
				case "get":
					var rc io.ReadCloser
					if rc, err = s.ReadRange(context.Background(), objKey, 0, -1); err == nil {
						_, err = io.ReadAll(rc)
						rc.Close()
					}
				case "list":
					err = s.List(context.Background(), ".pulumi/", true, func(store.Object) error { return nil })
				case "stat":
					_, err = s.Stat(context.Background(), objKey) // a HEAD answer's code is in x-ms-error-code
				}
				switch {
				case tt.wantErr == "" && err != nil:
					t.Errorf("err %v, want success through retries", err)
				case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
					t.Errorf("err %v, want it to contain %q", err, tt.wantErr)
				}
				if n := len(f.requests()); n != min(tt.failures+1, 3) {
					t.Errorf("%d requests, want %d", n, min(tt.failures+1, 3))
				}
			})
		}
	}
}

// TestHungServer: a server that accepts the request and never answers
// fails each attempt after ResponseHeaderTimeout, and the call after
// MaxAttempts of them.
func TestHungServer(t *testing.T) {
	f := newFakeAzure(t)
	release := make(chan struct{})
	defer close(release)
	f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return true
	}
	s := f.store(t, Options{ResponseHeaderTimeout: 200 * time.Millisecond, MaxAttempts: 2}, nil)
	start := time.Now()
	_, err := s.ReadRange(context.Background(), objKey, 0, -1)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s", d)
	}
	want := "reading azblob://c/" + objKey + ": Azure Blob endpoint " + f.srv.URL + " for azblob://c did not answer in time"
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "(2 attempts)") {
		t.Errorf("err %v, want it to start %q and count 2 attempts", err, want)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v matches context.DeadlineExceeded: callers would take it for their own deadline", err)
	}
}

// TestUnreachable: a refused connection names the endpoint and keeps the
// dial error for errors.As.
func TestUnreachable(t *testing.T) {
	f := newFakeAzure(t)
	s := f.store(t, Options{MaxAttempts: 2}, nil)
	f.srv.Close()
	_, err := s.Stat(context.Background(), objKey)
	want := "looking up azblob://c/" + objKey + ": cannot reach Azure Blob endpoint " + f.srv.URL + " for azblob://c: dial tcp "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err %v, want it to start %q", err, want)
	}
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Errorf("err %v does not wrap the dial error", err)
	}
}

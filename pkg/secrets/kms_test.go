package secrets

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/state"
)

func TestParseKMSURL(t *testing.T) {
	tests := []struct {
		url, keyID, clientKey string
		context               map[string]string
		err                   bool
	}{
		{url: "awskms://alias/pulumi?region=us-west-2", keyID: "alias/pulumi", clientKey: "region=us-west-2"},
		{url: "awskms://1234abcd-12ab?region=us-west-2&awssdk=v2", keyID: "1234abcd-12ab", clientKey: "region=us-west-2"},
		{url: "awskms:///arn:aws:kms:us-west-2:111122223333:key/k1", keyID: "arn:aws:kms:us-west-2:111122223333:key/k1"},
		{url: "awskms://alias/a?region=r&context_app=web&context_env=dev", keyID: "alias/a", clientKey: "region=r", context: map[string]string{"app": "web", "env": "dev"}},
		{url: "awskms://alias/a?profile=p&endpoint=http://h:1&region=r", keyID: "alias/a", clientKey: "endpoint=http://h:1&profile=p&region=r"},
		{url: "awskms://alias/a?context_app=1&context_app=2", err: true},
		{url: "awskms://alias/a?regoin=us-west-2", err: true},
		{url: "awskms://%zz", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			k, err := parseKMSURL(tt.url)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if err != nil {
				if !errors.Is(err, ErrBadURL) {
					t.Errorf("err %v does not wrap ErrBadURL", err)
				}
				return
			}
			if k.keyID != tt.keyID || k.clientKey != tt.clientKey {
				t.Errorf("got key %q client %q, want %q %q", k.keyID, k.clientKey, tt.keyID, tt.clientKey)
			}
			if len(k.context) != len(tt.context) {
				t.Errorf("context %v, want %v", k.context, tt.context)
			}
			for c, v := range tt.context {
				if k.context[c] != v {
					t.Errorf("context %v, want %v", k.context, tt.context)
				}
			}
		})
	}
}

// fakeAWS answers KMS Decrypt and DescribeKey (AWS JSON 1.1) and STS
// GetCallerIdentity (query protocol) with canned answers shaped as AWS's,
// for the answers local-kms cannot give (denials, other regions). The
// end-to-end tests run the rest against local-kms.
type fakeAWS struct {
	decrypt  func() (int, string)
	describe func() (int, string)
	mu       sync.Mutex
	calls    []string
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
	if strings.Contains(string(body), "Action=GetCallerIdentity") {
		op = "GetCallerIdentity"
	}
	f.mu.Lock()
	f.calls = append(f.calls, op)
	f.mu.Unlock()
	var code int
	var out string
	switch op {
	case "Decrypt":
		code, out = f.decrypt()
	case "DescribeKey":
		code, out = f.describe()
	case "GetCallerIdentity":
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<GetCallerIdentityResponse><GetCallerIdentityResult><Account>111122223333</Account><Arn>arn:aws:sts::111122223333:assumed-role/deploy/ci</Arn><UserId>AROA:ci</UserId></GetCallerIdentityResult></GetCallerIdentityResponse>`)
		return
	default:
		code, out = 400, `{"__type":"UnknownOperationException"}`
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(code)
	io.WriteString(w, out)
}

func apiError(typ, msg string) func() (int, string) {
	return func() (int, string) { return 400, `{"__type":"` + typ + `","message":"` + msg + `"}` }
}

func metadata(state string, deletion float64) func() (int, string) {
	return func() (int, string) {
		m := map[string]any{"KeyId": "k1", "Arn": "arn:aws:kms:us-west-2:111122223333:key/k1", "KeyState": state}
		if deletion > 0 {
			m["DeletionDate"] = deletion
		}
		b, _ := json.Marshal(map[string]any{"KeyMetadata": m})
		return 200, string(b)
	}
}

func plaintext(n int) func() (int, string) {
	return func() (int, string) {
		pt := base64.StdEncoding.EncodeToString(make([]byte, n))
		return 200, `{"KeyId":"arn:aws:kms:us-west-2:111122223333:key/k1","Plaintext":"` + pt + `","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}`
	}
}

// awsEnv points the SDK at srv with static credentials and no files.
func awsEnv(t *testing.T, endpoint string) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "us-west-2", "AWS_PROFILE": "", "AWS_ENDPOINT_URL": "",
		"AWS_ENDPOINT_URL_KMS": endpoint, "AWS_ENDPOINT_URL_STS": endpoint,
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
}

func TestVerifyAWSKMS(t *testing.T) {
	deletion := float64(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).Unix())
	const alias = "awskms://alias/pulumi?region=us-west-2"
	tests := []struct {
		name      string
		url       string
		decrypt   func() (int, string)
		describe  func() (int, string)
		status    Status
		reason    Reason
		calls     string
		principal string
		date      bool
	}{
		{"decrypted", alias, plaintext(32), nil, StatusOK, ReasonDecrypted, "Decrypt", "", false},
		{"not a data key", alias, plaintext(16), nil, StatusFail, ReasonInvalidCiphertext, "Decrypt", "", false},
		{"access denied", alias, apiError("AccessDeniedException", "User: arn:aws:sts::111122223333:assumed-role/deploy/ci is not authorized to perform: kms:Decrypt"),
			metadata("Enabled", 0), StatusFail, ReasonAccessDenied, "Decrypt DescribeKey GetCallerIdentity", "arn:aws:sts::111122223333:assumed-role/deploy/ci", false},
		{"denied to describe too", alias, apiError("AccessDeniedException", "denied"), apiError("AccessDeniedException", "denied"),
			StatusFail, ReasonAccessDenied, "Decrypt DescribeKey GetCallerIdentity", "arn:aws:sts::111122223333:assumed-role/deploy/ci", false},
		{"disabled", alias, apiError("DisabledException", "arn:aws:kms:us-west-2:111122223333:key/k1 is disabled."), metadata("Disabled", 0),
			StatusFail, ReasonKeyDisabled, "Decrypt DescribeKey", "", false},
		{"pending deletion", alias, apiError("KMSInvalidStateException", "arn:aws:kms:us-west-2:111122223333:key/k1 is pending deletion."), metadata("PendingDeletion", deletion),
			StatusFail, ReasonKeyPendingDeletion, "Decrypt DescribeKey", "", true},
		{"pending import", alias, apiError("KMSInvalidStateException", "pending import"), metadata("PendingImport", 0),
			StatusFail, ReasonKeyUnavailable, "Decrypt DescribeKey", "", false},
		{"not found", alias, apiError("AccessDeniedException", "The ciphertext refers to a customer master key that does not exist"), apiError("NotFoundException", "not found"),
			StatusFail, ReasonKeyNotFound, "Decrypt DescribeKey", "", false},
		{"wrong region, denied", "awskms:///arn:aws:kms:eu-west-1:111122223333:key/k1?region=us-west-2", apiError("AccessDeniedException", "does not exist in this region"), apiError("NotFoundException", "not found"),
			StatusFail, ReasonWrongRegion, "Decrypt DescribeKey", "", false},
		{"wrong region, invalid ciphertext", "awskms:///arn:aws:kms:eu-west-1:111122223333:key/k1?region=us-west-2", apiError("InvalidCiphertextException", ""), nil,
			StatusFail, ReasonWrongRegion, "Decrypt", "", false},
		{"invalid ciphertext", alias, apiError("InvalidCiphertextException", ""), nil, StatusFail, ReasonInvalidCiphertext, "Decrypt", "", false},
		{"bad credentials", alias, apiError("UnrecognizedClientException", "The security token included in the request is invalid."), nil,
			StatusFail, ReasonNoCredentials, "Decrypt", "", false},
		{"unknown parameter", "awskms://alias/pulumi?regoin=us-west-2", nil, nil, StatusFail, ReasonBadURL, "", "", false},
		{"KMS failing", alias, func() (int, string) { return 500, `{"__type":"KMSInternalException"}` }, nil,
			StatusError, ReasonKMSError, "Decrypt Decrypt Decrypt", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeAWS{decrypt: tt.decrypt, describe: tt.describe}
			srv := httptest.NewServer(f)
			defer srv.Close()
			awsEnv(t, srv.URL)
			v := &Verifier{}
			p := state.SecretsProvider{Type: state.TypeCloud, URL: tt.url, EncryptedKey: base64.StdEncoding.EncodeToString([]byte("ciphertext"))}
			r := v.Verify(context.Background(), p)
			if r.Status != tt.status || r.Reason != tt.reason {
				t.Errorf("got %v, want %s (%s)", r, tt.status, tt.reason)
			}
			if got := strings.Join(f.calls, " "); got != tt.calls {
				t.Errorf("requests %q, want %q", got, tt.calls)
			}
			if r.Principal != tt.principal {
				t.Errorf("principal %q, want %q", r.Principal, tt.principal)
			}
			if tt.date && (r.DeletionDate.Unix() != int64(deletion) || !strings.Contains(r.Message, "2030-01-02T03:04:05Z")) {
				t.Errorf("deletion date %v, message %q; want 2030-01-02T03:04:05Z in both", r.DeletionDate, r.Message)
			}
			if strings.Contains(r.Message, "\n") {
				t.Errorf("message is not one line: %q", r.Message)
			}
		})
	}
}

func TestKeyAuditorOneDescribePerKey(t *testing.T) {
	f := &fakeAWS{describe: metadata("PendingDeletion", 1.9e9)}
	srv := httptest.NewServer(f)
	defer srv.Close()
	awsEnv(t, srv.URL)
	a := NewKeyAuditor(AWSOptions{})
	urls := []string{
		"awskms://alias/x?region=us-west-2",
		"awskms://alias/x?region=us-west-2&awssdk=v2",
		"awskms://alias/x?region=us-west-2&context_app=c",
		"awskms://alias/y?region=us-west-2",
	}
	got := make([]KeyHealth, len(urls))
	var wg sync.WaitGroup
	for i := range urls {
		wg.Go(func() { got[i] = a.Key(context.Background(), urls[i]) })
	}
	wg.Wait()
	if len(f.calls) != 2 {
		t.Errorf("%d DescribeKey calls for 2 distinct keys: %v", len(f.calls), f.calls)
	}
	for i, h := range got {
		if h.Err != nil || h.State != "PendingDeletion" || h.DeletionDate.Unix() != 1.9e9 {
			t.Errorf("%s: state %q deletion date %v, error %v", urls[i], h.State, h.DeletionDate, h.Err)
		}
	}
}

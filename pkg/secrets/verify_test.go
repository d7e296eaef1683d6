package secrets

import (
	"context"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/pkg/state"
)

func TestVerifyWithoutKMS(t *testing.T) {
	pass := state.SecretsProvider{Type: state.TypePassphrase, Salt: pulumiSalt}
	gcp := state.SecretsProvider{Type: state.TypeCloud, URL: "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k", EncryptedKey: "Y2lwaGVy"}
	kms := state.SecretsProvider{Type: state.TypeCloud, URL: "awskms://alias/a?region=us-west-2", EncryptedKey: "Y2lwaGVy"}
	tests := []struct {
		name   string
		p      state.SecretsProvider
		env    func(string) (string, bool)
		status Status
		reason Reason
	}{
		{"passphrase right", pass, env(EnvPassphrase, pulumiPhrase), StatusOK, ReasonPassphraseCorrect},
		{"passphrase missing", pass, env(), StatusFail, ReasonPassphraseMissing},
		{"gcpkms", gcp, env(), StatusNotVerified, ReasonNoVerifier},
		{"service", state.SecretsProvider{Type: state.TypeService, URL: "https://api.pulumi.com"}, env(), StatusNotVerified, ReasonServiceProvider},
		{"unknown type", state.SecretsProvider{Type: "vault"}, env(), StatusFail, ReasonBadState},
		{"incomplete cloud", state.SecretsProvider{Type: state.TypeCloud, URL: kms.URL}, env(), StatusFail, ReasonBadState},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &Verifier{LookupEnv: tt.env}
			r := v.Verify(context.Background(), tt.p)
			if r.Status != tt.status || r.Reason != tt.reason {
				t.Errorf("got %v, want %s (%s)", r, tt.status, tt.reason)
			}
			if strings.Contains(r.Message, pulumiPhrase) {
				t.Errorf("message holds the passphrase: %s", r.Message)
			}
		})
	}
}

// TestVerifyPassphraseOncePerSalt: stacks sharing a salt cost one key
// derivation; the cached verdict is the same.
func TestVerifyPassphraseOncePerSalt(t *testing.T) {
	calls := 0
	v := &Verifier{LookupEnv: func(k string) (string, bool) {
		if k == EnvPassphrase {
			calls++
			return "wrong", true
		}
		return "", false
	}}
	s := state.SecretsProvider{Type: state.TypePassphrase, Salt: pulumiSalt}
	for range 3 {
		if r := v.Verify(context.Background(), s); r.Reason != ReasonPassphraseWrong {
			t.Fatalf("got %v, want passphrase-wrong", r)
		}
	}
	if calls != 1 {
		t.Errorf("passphrase read %d times for one salt, want 1", calls)
	}
}

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
	passFile := []byte("encryptionsalt: " + pulumiSalt + "\nconfig:\n  demo:apikey:\n    secure: v1:abc\n")
	tests := []struct {
		name     string
		p        state.SecretsProvider
		path     string
		settings []byte
		env      func(string) (string, bool)
		status   Status
		reason   Reason
	}{
		{"passphrase right", pass, "Pulumi.dev.yaml", passFile, env(EnvPassphrase, pulumiPhrase), StatusOK, ReasonPassphraseCorrect},
		{"passphrase right, secretsprovider passphrase", pass, "Pulumi.dev.yaml", append([]byte("secretsprovider: passphrase\n"), passFile...), env(EnvPassphrase, pulumiPhrase), StatusOK, ReasonPassphraseCorrect},
		{"passphrase missing", pass, "Pulumi.dev.yaml", passFile, env(), StatusFail, ReasonPassphraseMissing},
		{"settings file missing", pass, "Pulumi.dev.yaml", nil, env(EnvPassphrase, pulumiPhrase), StatusFail, ReasonSettingsMissing},
		{"settings file lost its fields", kms, "Pulumi.dev.yaml", []byte("config:\n  test:value: hello\n"), env(), StatusFail, ReasonSettingsMismatch},
		{"settings file has another salt", pass, "Pulumi.dev.yaml", []byte("encryptionsalt: v1:other\n"), env(EnvPassphrase, pulumiPhrase), StatusFail, ReasonSettingsMismatch},
		{"settings file has another key", kms, "Pulumi.dev.json", []byte(`{"secretsprovider": "awskms://alias/a?region=us-west-2", "encryptedkey": "b3RoZXI="}`), env(), StatusFail, ReasonSettingsMismatch},
		{"settings file unparsable", kms, "Pulumi.dev.yaml", []byte("- a list\n"), env(), StatusFail, ReasonSettingsUnreadable},
		{"gcpkms", gcp, "Pulumi.dev.yaml", []byte("secretsprovider: " + gcp.URL + "\nencryptedkey: Y2lwaGVy\n"), env(), StatusNotVerified, ReasonNoVerifier},
		{"service", state.SecretsProvider{Type: state.TypeService, URL: "https://api.pulumi.com"}, "Pulumi.dev.yaml", []byte("config: {}\n"), env(), StatusNotVerified, ReasonServiceProvider},
		{"unknown type", state.SecretsProvider{Type: "vault"}, "Pulumi.dev.yaml", []byte("config: {}\n"), env(), StatusFail, ReasonBadState},
		{"incomplete cloud", state.SecretsProvider{Type: state.TypeCloud, URL: kms.URL}, "Pulumi.dev.yaml", []byte("config: {}\n"), env(), StatusFail, ReasonBadState},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &Verifier{LookupEnv: tt.env}
			r := v.Verify(context.Background(), Stack{Provider: tt.p, SettingsPath: tt.path, Settings: tt.settings})
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
	s := Stack{Provider: state.SecretsProvider{Type: state.TypePassphrase, Salt: pulumiSalt}, SettingsPath: "Pulumi.a.yaml", Settings: []byte("encryptionsalt: " + pulumiSalt + "\n")}
	for range 3 {
		if r := v.Verify(context.Background(), s); r.Reason != ReasonPassphraseWrong {
			t.Fatalf("got %v, want passphrase-wrong", r)
		}
	}
	if calls != 1 {
		t.Errorf("passphrase read %d times for one salt, want 1", calls)
	}
}

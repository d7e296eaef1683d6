package restore

import (
	"testing"

	"github.com/stacksync/stacksync/pkg/secrets"
	"github.com/stacksync/stacksync/pkg/state"
)

// TestAgreement: a settings file agrees with state when a restore would
// change nothing pulumi reads; otherwise the verdict says how it differs.
func TestAgreement(t *testing.T) {
	const salt = "v1:5dYkBw8lBSI=:v1:lX5m8Gd2w0d7u0Rk:WnT6Y3bW4Q2S3Ipp1n0P0g=="
	pass := state.SecretsProvider{Type: state.TypePassphrase, Salt: salt}
	kms := state.SecretsProvider{Type: state.TypeCloud, URL: "awskms://alias/a?region=us-west-2", EncryptedKey: "Y2lwaGVy"}
	passFile := []byte("encryptionsalt: " + salt + "\nconfig:\n  demo:apikey:\n    secure: v1:abc\n")
	tests := []struct {
		name   string
		p      state.SecretsProvider
		path   string
		data   []byte
		agree  bool
		reason secrets.Reason
	}{
		{"passphrase salt there", pass, "Pulumi.dev.yaml", passFile, true, ""},
		{"passphrase, secretsprovider passphrase", pass, "Pulumi.dev.yaml", append([]byte("secretsprovider: passphrase\n"), passFile...), true, ""},
		{"kms fields there", kms, "Pulumi.dev.yaml", []byte("secretsprovider: " + kms.URL + "\nencryptedkey: Y2lwaGVy\n"), true, ""},
		{"settings file missing", pass, "Pulumi.dev.yaml", nil, false, secrets.ReasonSettingsMissing},
		{"settings file lost its fields", kms, "Pulumi.dev.yaml", []byte("config:\n  test:value: hello\n"), false, secrets.ReasonSettingsMismatch},
		{"settings file has another salt", pass, "Pulumi.dev.yaml", []byte("encryptionsalt: v1:other\n"), false, secrets.ReasonSettingsMismatch},
		{"settings file has another key", kms, "Pulumi.dev.json", []byte(`{"secretsprovider": "awskms://alias/a?region=us-west-2", "encryptedkey": "b3RoZXI="}`), false, secrets.ReasonSettingsMismatch},
		{"settings file unparsable", kms, "Pulumi.dev.yaml", []byte("- a list\n"), false, secrets.ReasonSettingsUnreadable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, agree := agreement(tt.path, tt.data, fieldsFor(tt.p))
			if agree != tt.agree || v.Reason != tt.reason {
				t.Errorf("agreement = %v, %v; want %v, %q", v, agree, tt.agree, tt.reason)
			}
			if !agree && v.Status != secrets.StatusFail {
				t.Errorf("status %v, want fail", v.Status)
			}
		})
	}
}

// TestFieldsFor: the fields pulumi writes for each provider type.
func TestFieldsFor(t *testing.T) {
	const url, key, salt = "awskms://alias/pulumi-secrets?region=us-west-2", "AQICAHhZ4H2N0uPxdjVOCcdA5MJZqvsM+Wf/a0cHpuIjm1nvYQ==", "v1:5dYkBw8lBSI=:v1:lX5m8Gd2w0d7u0Rk:WnT6Y3bW4Q2S3Ipp1n0P0g=="
	cloud := fieldsFor(state.SecretsProvider{Type: "cloud", URL: url, EncryptedKey: key, Salt: "ignored"})
	if cloud.SecretsProvider != url || cloud.EncryptedKey != key || cloud.EncryptionSalt != "" {
		t.Errorf("cloud: %+v", cloud)
	}
	pass := fieldsFor(state.SecretsProvider{Type: "passphrase", Salt: salt, URL: "ignored"})
	if pass.SecretsProvider != "" || pass.EncryptedKey != "" || pass.EncryptionSalt != salt {
		t.Errorf("passphrase: %+v", pass)
	}
	for _, p := range []state.SecretsProvider{{Type: "service", URL: "https://api.pulumi.com"}, {Type: "weird", URL: "x", EncryptedKey: "y", Salt: "z"}, {}} {
		if f := fieldsFor(p); f != (fieldsFor(state.SecretsProvider{})) || f.SecretsProvider != "" || f.EncryptedKey != "" || f.EncryptionSalt != "" {
			t.Errorf("%+v: %+v, want no fields", p, f)
		}
	}
}

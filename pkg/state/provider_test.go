package state

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
)

func TestSecretsProvider(t *testing.T) {
	const arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	const aliasARN = "arn:aws:kms:eu-central-1:111122223333:alias/pulumi-state"
	cloud := func(url string) SecretsProvider {
		return SecretsProvider{Type: TypeCloud, URL: url, EncryptedKey: testKMSKey}
	}
	tests := []struct {
		name      string
		p         SecretsProvider
		kind      string
		keyID     string
		region    string
		known     bool
		hasFinger bool
	}{
		{"awskms alias with region", cloud("awskms://alias/pulumi-state?region=eu-west-1"),
			"awskms", "alias/pulumi-state", "eu-west-1", true, true},
		{"awskms alias without region", cloud("awskms://alias/pulumi-state"),
			"awskms", "alias/pulumi-state", "", true, true},
		{"awskms key id", cloud("awskms://1234abcd-12ab-34cd-56ef-1234567890ab?region=us-east-1"),
			"awskms", "1234abcd-12ab-34cd-56ef-1234567890ab", "us-east-1", true, true},
		{"awskms key id without region", cloud("awskms://1234abcd-12ab-34cd-56ef-1234567890ab"),
			"awskms", "1234abcd-12ab-34cd-56ef-1234567890ab", "", true, true},
		{"awskms triple-slash ARN", cloud("awskms:///" + arn),
			"awskms", arn, "us-east-1", true, true},
		{"awskms ARN with region param", cloud("awskms:///" + arn + "?region=us-east-1"),
			"awskms", arn, "us-east-1", true, true},
		{"awskms region param wins over ARN", cloud("awskms:///" + arn + "?region=eu-west-1"),
			"awskms", arn, "eu-west-1", true, true},
		{"awskms alias ARN", cloud("awskms:///" + aliasARN),
			"awskms", aliasARN, "eu-central-1", true, true},
		{"awskms awssdk=v2", cloud("awskms://alias/pulumi-state?awssdk=v2&region=us-west-2"),
			"awskms", "alias/pulumi-state", "us-west-2", true, true},
		{"awskms awssdk=v2 only", cloud("awskms://alias/pulumi-state?awssdk=v2"),
			"awskms", "alias/pulumi-state", "", true, true},
		{"awskms context params", cloud("awskms://alias/x?context_team=platform&region=ap-southeast-2"),
			"awskms", "alias/x", "ap-southeast-2", true, true},
		{"awskms trailing slash, as gocloud's path.Join", cloud("awskms://alias/x/?region=eu-west-1"),
			"awskms", "alias/x", "eu-west-1", true, true},
		{"awskms upper-case scheme", cloud("AWSKMS://alias/x"),
			"awskms", "alias/x", "", true, true},
		{"awskms bad escape", cloud("awskms://alias/x%zz?region=eu-west-1"),
			"awskms", "alias/x%zz", "eu-west-1", true, true},
		{"gcpkms", cloud("gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k"),
			"gcpkms", "", "", true, true},
		{"azurekeyvault", cloud("azurekeyvault://myvault.vault.azure.net/keys/mykey"),
			"azurekeyvault", "", "", true, true},
		{"hashivault", cloud("hashivault://mykey?engine=transit"),
			"hashivault", "", "", true, true},
		{"cloud URL with no scheme", cloud("alias/pulumi-state"),
			"unknown", "", "", true, true},
		{"cloud with empty URL", SecretsProvider{Type: TypeCloud},
			"unknown", "", "", true, false},
		{"passphrase", SecretsProvider{Type: TypePassphrase, Salt: testSalt},
			"passphrase", "", "", true, false},
		{"service", SecretsProvider{Type: TypeService, URL: "https://api.pulumi.com"},
			"service", "", "", true, false},
		{"unknown type b64", SecretsProvider{Type: "b64"},
			"unknown", "", "", false, false},
		{"awskms URL on a non-cloud type", SecretsProvider{Type: "kms", URL: "awskms://alias/x?region=eu-west-1"},
			"unknown", "", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			if got := p.Kind(); got != tt.kind {
				t.Errorf("Kind() = %q, want %q", got, tt.kind)
			}
			if got := p.KeyID(); got != tt.keyID {
				t.Errorf("KeyID() = %q, want %q", got, tt.keyID)
			}
			if got := p.Region(); got != tt.region {
				t.Errorf("Region() = %q, want %q", got, tt.region)
			}
			if got := p.Known(); got != tt.known {
				t.Errorf("Known() = %v, want %v", got, tt.known)
			}
			if got := p.Fingerprint(); (got != "") != tt.hasFinger {
				t.Errorf("Fingerprint() = %q, want one: %v", got, tt.hasFinger)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	sum := sha256.Sum256([]byte(testKMSKey))
	tests := []struct {
		key, want string
	}{
		{"abc", "ba7816bf8f01"}, // FIPS 180-2 test vector
		{testKMSKey, hex.EncodeToString(sum[:])[:12]},
		{"", ""},
	}
	for _, tt := range tests {
		p := SecretsProvider{Type: TypeCloud, URL: testKMSURL, EncryptedKey: tt.key}
		if got := p.Fingerprint(); got != tt.want {
			t.Errorf("Fingerprint of %q = %q, want %q", tt.key, got, tt.want)
		}
	}
	// The same key gives the same fingerprint whatever the URL; another key
	// another one.
	a := SecretsProvider{Type: TypeCloud, URL: "awskms://alias/a", EncryptedKey: testKMSKey}
	b := SecretsProvider{Type: TypeCloud, URL: "awskms://alias/b", EncryptedKey: testKMSKey}
	c := SecretsProvider{Type: TypeCloud, URL: "awskms://alias/a", EncryptedKey: testKMSKey + "A"}
	if a.Fingerprint() != b.Fingerprint() || a.Fingerprint() == c.Fingerprint() {
		t.Errorf("fingerprints: %s %s %s", a.Fingerprint(), b.Fingerprint(), c.Fingerprint())
	}
}

func TestComplete(t *testing.T) {
	tests := []struct {
		p  SecretsProvider
		ok bool
	}{
		{SecretsProvider{Type: TypePassphrase, Salt: "v1:x"}, true},
		{SecretsProvider{Type: TypePassphrase}, false},
		{SecretsProvider{Type: TypeCloud, URL: "awskms://alias/x", EncryptedKey: "AQ=="}, true},
		{SecretsProvider{Type: TypeCloud, EncryptedKey: "AQ=="}, false},
		{SecretsProvider{Type: TypeCloud, URL: "awskms://alias/x"}, false},
		{SecretsProvider{Type: TypeService, URL: "https://api.pulumi.com"}, true},
	}
	for _, tt := range tests {
		err := tt.p.Complete()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrCorrupt)) {
			t.Errorf("%+v.Complete() = %v, want ok=%v (else ErrCorrupt)", tt.p, err, tt.ok)
		}
	}
}

package main

import (
	"errors"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/state"
	"github.com/stacksync/stacksync/pkg/state/store"
)

func TestProviderClass(t *testing.T) {
	cloud := func(url string) *state.SecretsProvider {
		return &state.SecretsProvider{Type: state.TypeCloud, URL: url, EncryptedKey: kmsKey}
	}
	tests := []struct {
		name string
		p    *state.SecretsProvider
		want string
	}{
		{"nil", nil, "none"},
		{"awskms alias", cloud("awskms://alias/pulumi-state?region=eu-west-1"), "awskms"},
		{"awskms alias without region", cloud("awskms://alias/x"), "awskms"},
		{"awskms key id", cloud("awskms://1234abcd-12ab-34cd-56ef-1234567890ab?region=us-east-2"), "awskms"},
		{"awskms triple-slash ARN", cloud("awskms:///arn:aws:kms:ap-south-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"), "awskms"},
		{"awskms alias ARN", cloud("awskms:///arn:aws:kms:eu-central-1:111122223333:alias/pulumi-state"), "awskms"},
		{"awskms awssdk=v2", cloud("awskms://alias/x?region=us-east-1&awssdk=v2"), "awskms"},
		{"awskms upper-case scheme", cloud("AWSKMS://alias/x"), "awskms"},
		{"gcpkms", cloud("gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k"), "gcpkms"},
		{"azurekeyvault", cloud("azurekeyvault://myvault.vault.azure.net/keys/mykey"), "azurekeyvault"},
		{"hashivault", cloud("hashivault://mykey?engine=transit"), "hashivault"},
		{"base64key is not linked into pulumi", cloud("base64key://c21hbGxrZXk="), "unknown"},
		{"other scheme", cloud("s3://bucket/key"), "unknown"},
		{"cloud without scheme", cloud("alias/pulumi-state"), "unknown"},
		{"cloud without URL", &state.SecretsProvider{Type: state.TypeCloud}, "unknown"},
		{"passphrase", &state.SecretsProvider{Type: state.TypePassphrase, Salt: salt}, "passphrase"},
		{"service", &state.SecretsProvider{Type: state.TypeService, URL: "https://api.pulumi.com"}, "service"},
		{"unknown type b64", &state.SecretsProvider{Type: "b64"}, "unknown"},
		{"unknown type awskms", &state.SecretsProvider{Type: "awskms", URL: "awskms://alias/pulumi-state?region=eu-west-1"}, "unknown"},
		{"upper-case type", &state.SecretsProvider{Type: "Passphrase"}, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := providerClass(tt.p); got != tt.want {
				t.Errorf("providerClass(%+v) = %q, want %q", tt.p, got, tt.want)
			}
		})
	}
	// Every class an audit can report is one --fail-on accepts.
	for _, tt := range tests {
		found := false
		for _, c := range providerClasses {
			found = found || c == providerClass(tt.p)
		}
		if !found {
			t.Errorf("%s: class %q is not in providerClasses", tt.name, providerClass(tt.p))
		}
	}
}

// newStackReport fills each field from what the audit found: the
// provider's class and facts, the history's verdict, and the error of a
// stack it could not read.
func TestNewStackReport(t *testing.T) {
	when := time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC)
	kms := &state.SecretsProvider{Type: state.TypeCloud, URL: kmsURL, EncryptedKey: kmsKey}
	pass := &state.SecretsProvider{Type: state.TypePassphrase, Salt: salt}
	obj := state.StackObject{Ref: state.StackRef{Project: "demo", Name: "dev"},
		Object: store.Object{Key: ".pulumi/stacks/demo/dev.json.gz", Size: 42, ModTime: when}}
	base := stackReport{Project: "demo", Stack: "dev", Object: "s3://b/.pulumi/stacks/demo/dev.json.gz", Size: 42,
		LastModified: when, Compression: "gzip", CheckpointVersion: 3, Locked: true}
	with := func(f func(*stackReport)) stackReport { r := base; f(&r); return r }
	audit := func(f func(*state.StackAudit)) state.StackAudit {
		a := state.StackAudit{Stack: obj, Object: base.Object, Locked: true,
			Head: state.Head{Version: 3, Compression: "gzip", HasLatest: true, Provider: pass}}
		f(&a)
		return a
	}
	tests := []struct {
		name string
		in   state.StackAudit
		want stackReport
	}{
		{"passphrase", audit(func(*state.StackAudit) {}), with(func(r *stackReport) { r.Provider = "passphrase" })},
		{"awskms", audit(func(a *state.StackAudit) { a.Head.Provider = kms }), with(func(r *stackReport) {
			r.Provider, r.SecretsProvider, r.Key, r.Region = "awskms", kmsURL, "alias/pulumi_backend_software", "us-west-2"
			r.EncryptedKeySHA = kms.Fingerprint()
		})},
		{"no provider", audit(func(a *state.StackAudit) { a.Head.Provider = nil }), with(func(r *stackReport) { r.Provider = "none" })},
		{"flipped", audit(func(a *state.StackAudit) {
			a.Previous = &state.Record{Head: state.Head{Provider: kms}}
			a.PreviousObject = "s3://b/.pulumi/backups/demo/dev/dev.1.json"
		}), with(func(r *stackReport) {
			r.Provider, r.Flipped, r.PreviousProvider, r.PreviousSecretsProvider = "passphrase", true, "awskms", kmsURL
			r.PreviousObject = "s3://b/.pulumi/backups/demo/dev/dev.1.json"
		})},
		{"history unreadable", audit(func(a *state.StackAudit) { a.HistoryErr = errors.New("reading history: denied") }),
			with(func(r *stackReport) { r.Provider, r.Error = "passphrase", "reading history: denied" })},
		{"checkpoint unreadable", audit(func(a *state.StackAudit) {
			a.Head.Provider, a.Err = nil, errors.New("corrupt checkpoint")
		}), with(func(r *stackReport) { r.Provider, r.Error = "unknown", "corrupt checkpoint" })},
		{"legacy", audit(func(a *state.StackAudit) { a.Stack.Legacy = true }), with(func(r *stackReport) {
			r.Provider, r.Legacy = "passphrase", true
		})},
	}
	for _, tt := range tests {
		if got := newStackReport(tt.in); got != tt.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}

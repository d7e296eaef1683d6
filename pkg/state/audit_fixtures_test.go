package state

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/state/store"
	"github.com/stacksync/stacksync/pkg/state/storetest"
)

// auditFP is the fingerprint an audit reports for an encrypted key,
// computed independently of Fingerprint.
func auditFP(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])[:12]
}

// auditView flattens a StackAudit into the values the tests compare: the
// provider's kind, or "none" when it records none, or "unknown" when the
// checkpoint cannot be read.
type auditView struct {
	Project, Stack                            string
	Provider, SecretsProvider, Key            string
	Region, EncryptedKeySHA                   string
	Object                                    string
	Size                                      int64
	LastModified                              time.Time
	Compression                               string
	CheckpointVersion                         int
	Locked, Legacy, Flipped                   bool
	PreviousProvider, PreviousSecretsProvider string
	PreviousObject, Error                     string
}

func kindOf(p *SecretsProvider) string {
	if p == nil {
		return "none"
	}
	return p.Kind()
}

func viewOf(a StackAudit) auditView {
	v := auditView{
		Project: a.Stack.Ref.Project, Stack: a.Stack.Ref.Name, Object: a.Object,
		Size: a.Stack.Size, LastModified: a.Stack.ModTime, Compression: a.Head.Compression,
		CheckpointVersion: a.Head.Version, Locked: a.Locked, Legacy: a.Stack.Legacy,
	}
	if a.Err != nil {
		v.Provider, v.Error = "unknown", a.Err.Error()
		return v
	}
	v.Provider = kindOf(a.Head.Provider)
	if p := a.Head.Provider; p != nil {
		v.SecretsProvider, v.Key, v.Region, v.EncryptedKeySHA = p.CloudURL(), p.KeyID(), p.Region(), p.Fingerprint()
	}
	if a.HistoryErr != nil {
		v.Error = a.HistoryErr.Error()
	}
	if a.Previous != nil {
		v.Flipped, v.PreviousObject = true, a.PreviousObject
		v.PreviousProvider, v.PreviousSecretsProvider = kindOf(a.Previous.Head.Provider), a.Previous.Head.Provider.CloudURL()
	}
	return v
}

// auditAll runs Audit and collects what it hands over.
func auditAll(ctx context.Context, b *Backend, opts AuditOptions) ([]StackAudit, error) {
	var all []StackAudit
	err := b.Audit(ctx, opts, func(a StackAudit) error {
		all = append(all, a)
		return nil
	})
	return all, err
}

// auditViews runs Audit and returns the views of what it hands over.
func auditViews(ctx context.Context, b *Backend, opts AuditOptions) ([]auditView, error) {
	all, err := auditAll(ctx, b, opts)
	if err != nil {
		return nil, err
	}
	views := make([]auditView, len(all))
	for i, a := range all {
		views[i] = viewOf(a)
	}
	return views, nil
}

const (
	auditARN      = "arn:aws:kms:ap-south-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	auditAliasURL = "awskms://alias/pulumi-state?region=eu-west-1"
	auditKeyIDURL = "awskms://1234abcd-12ab-34cd-56ef-1234567890ab?region=us-east-2"
	auditARNURL   = "awskms:///" + auditARN
	auditGCPURL   = "gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k"
	auditAzureURL = "azurekeyvault://myvault.vault.azure.net/keys/mykey"
	auditVaultURL = "hashivault://mykey?engine=transit"
	auditB64URL   = "base64key://c21hbGxrZXk="
	auditOtherKey = "AQICAHhOtherDataKeyOtherDataKeyOtherDataKeyOtherDataKey=="
)

// auditWant is what the audit must say of one stack.
type auditWant struct {
	project, stack string
	provider       string
	url, key       string
	region, fp     string
	compression    string
	version        int
	locked, legacy bool
	err            string // substring of Error; "" for none
}

// auditBucket is a project-mode bucket with one stack per provider form,
// compression and failure the audit must tell apart. It returns the
// backend, its store and what the audit must report, sorted as Audit sorts.
func auditBucket(t *testing.T) (*Backend, storetest.Mem, []auditWant) {
	t.Helper()
	cloud := func(url, key string) []byte {
		return storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(url, key)}.Build()
	}
	pass := storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt)}.Build()
	b, s := memBackend(nil)
	put := func(key string, data []byte) { s.Put(key, data, t0) }
	var want []auditWant
	add := func(key string, data []byte, w auditWant) {
		put(key, data)
		want = append(want, w)
	}
	kmsFP := auditFP(testKMSKey)

	add(".pulumi/stacks/alpha/kms-alias.json", cloud(auditAliasURL, testKMSKey), auditWant{project: "alpha", stack: "kms-alias",
		provider: "awskms", url: auditAliasURL, key: "alias/pulumi-state", region: "eu-west-1", fp: kmsFP, compression: "none", version: 3})
	add(".pulumi/stacks/alpha/kms-id.json.gz", storetest.Gzip(t, cloud(auditKeyIDURL, testKMSKey)), auditWant{project: "alpha", stack: "kms-id",
		provider: "awskms", url: auditKeyIDURL, key: "1234abcd-12ab-34cd-56ef-1234567890ab", region: "us-east-2", fp: kmsFP, compression: "gzip", version: 3})
	add(".pulumi/stacks/alpha/kms-arn.json.zst", storetest.Zstd(t, cloud(auditARNURL, auditOtherKey)), auditWant{project: "alpha", stack: "kms-arn",
		provider: "awskms", url: auditARNURL, key: auditARN, region: "ap-south-1", fp: auditFP(auditOtherKey), compression: "zstd", version: 3})
	// An indented checkpoint of an older CLI, version 4.
	add(".pulumi/stacks/alpha/kms-v4.json", indent(t, storetest.Checkpoint{Version: 4, Features: []string{"refreshBeforeUpdate"}, Provider: storetest.Cloud(auditAliasURL, testKMSKey)}.Build()),
		auditWant{project: "alpha", stack: "kms-v4", provider: "awskms", url: auditAliasURL, key: "alias/pulumi-state", region: "eu-west-1", fp: kmsFP, compression: "none", version: 4})
	add(".pulumi/stacks/alpha/gcp.json", cloud(auditGCPURL, testKMSKey), auditWant{project: "alpha", stack: "gcp",
		provider: "gcpkms", url: auditGCPURL, fp: kmsFP, compression: "none", version: 3})
	add(".pulumi/stacks/alpha/azure.json", cloud(auditAzureURL, testKMSKey), auditWant{project: "alpha", stack: "azure",
		provider: "azurekeyvault", url: auditAzureURL, fp: kmsFP, compression: "none", version: 3})
	add(".pulumi/stacks/alpha/vault.json", cloud(auditVaultURL, testKMSKey), auditWant{project: "alpha", stack: "vault",
		provider: "hashivault", url: auditVaultURL, fp: kmsFP, compression: "none", version: 3})
	add(".pulumi/stacks/alpha/b64.json", cloud(auditB64URL, testKMSKey), auditWant{project: "alpha", stack: "b64",
		provider: "base64key", url: auditB64URL, fp: kmsFP, compression: "none", version: 3})
	add(".pulumi/stacks/alpha/svc.json", storetest.Checkpoint{Version: 3, Provider: storetest.Service}.Build(), auditWant{project: "alpha", stack: "svc",
		provider: "service", compression: "none", version: 3})
	add(".pulumi/stacks/alpha/weird.json", storetest.Checkpoint{Version: 3, Provider: `{"type":"b64","state":null}`}.Build(), auditWant{project: "alpha", stack: "weird",
		provider: "unknown", compression: "none", version: 3})
	add(".pulumi/stacks/alpha/pass.json", pass, auditWant{project: "alpha", stack: "pass",
		provider: "passphrase", compression: "none", version: 3, locked: true})
	put(".pulumi/locks/organization/alpha/pass/3f0c2a9e-7d4b-4a8e-9b1c-0e5f6a7b8c9d.json",
		[]byte(`{"pid":4242,"username":"alice","hostname":"build-7","timestamp":"2026-03-20T10:11:12.5Z"}`))
	// The first write of stack init: version 0, no latest.
	add(".pulumi/stacks/alpha/bare.json", []byte(`{"version":0,"checkpoint":{"stack":"organization/alpha/bare"}}`), auditWant{project: "alpha", stack: "bare",
		provider: "none", compression: "none", version: 0})
	// Deployed, but the latest deployment records no provider.
	add(".pulumi/stacks/alpha/noprov.json", storetest.Checkpoint{Version: 3, Resources: 2}.Build(), auditWant{project: "alpha", stack: "noprov",
		provider: "none", compression: "none", version: 3})
	// A version 1 checkpoint predates secrets providers, whatever it says.
	add(".pulumi/stacks/alpha/v1.json", storetest.Checkpoint{Version: 1, Provider: storetest.Passphrase(testSalt)}.Build(), auditWant{project: "alpha", stack: "v1",
		provider: "none", compression: "none", version: 1})
	add(".pulumi/stacks/alpha/corrupt.json", []byte(`{"version":3,"checkpoint":{"latest":{"secrets`), auditWant{project: "alpha", stack: "corrupt",
		provider: "unknown", compression: "none", version: 3, err: "corrupt"})
	add(".pulumi/stacks/alpha/future.json", []byte(`{"version":9,"checkpoint":{}}`), auditWant{project: "alpha", stack: "future",
		provider: "unknown", compression: "none", version: 9, err: "checkpoint version 9"})
	add(".pulumi/stacks/alpha/yaml.yaml", []byte("version: 3\n"), auditWant{project: "alpha", stack: "yaml",
		provider: "unknown", err: "only reads .json"})
	// The stack file's name decides the stack, not its stack field.
	add(".pulumi/stacks/alpha/renamed.json", storetest.Checkpoint{Version: 3, Stack: "organization/alpha/oldname", Provider: storetest.Passphrase(testSalt)}.Build(),
		auditWant{project: "alpha", stack: "renamed", provider: "passphrase", compression: "none", version: 3})
	// Two variants: the newer (gz) wins.
	put(".pulumi/stacks/alpha/twice.json", cloud(auditAliasURL, testKMSKey))
	s.Put(".pulumi/stacks/alpha/twice.json.gz", storetest.Gzip(t, pass), tN(10))
	want = append(want, auditWant{project: "alpha", stack: "twice", provider: "passphrase", compression: "gzip", version: 3})

	add(".pulumi/stacks/beta/dev.json", pass, auditWant{project: "beta", stack: "dev", provider: "passphrase", compression: "none", version: 3})
	add(".pulumi/stacks/beta/prod.json.zst", storetest.Zstd(t, cloud(auditAliasURL, testKMSKey)), auditWant{project: "beta", stack: "prod",
		provider: "awskms", url: auditAliasURL, key: "alias/pulumi-state", region: "eu-west-1", fp: kmsFP, compression: "zstd", version: 3})

	// A legacy file left in a project-mode bucket.
	add(".pulumi/stacks/oldstack.json", cloud(auditAliasURL, testKMSKey), auditWant{stack: "oldstack", legacy: true,
		provider: "awskms", url: auditAliasURL, key: "alias/pulumi-state", region: "eu-west-1", fp: kmsFP, compression: "none", version: 3})

	// Not stacks: a .bak alone, tags, a retained copy, a nested file.
	put(".pulumi/stacks/alpha/gone.json.bak", pass)
	put(".pulumi/stacks/alpha/pass.json.bak", pass)
	put(".pulumi/stacks/alpha/pass.pulumi-tags", []byte(`{"version":1,"tags":{}}`))
	put(".pulumi/stacks/alpha/pass.json.1712345678901234567", pass)
	put(".pulumi/stacks/alpha/sub/deep.json", pass)

	sort.Slice(want, func(i, j int) bool {
		if want[i].project != want[j].project {
			return want[i].project < want[j].project
		}
		return want[i].stack < want[j].stack
	})
	return b, s, want
}

func checkReports(t *testing.T, got []auditView, want []auditWant, s storetest.Mem) {
	t.Helper()
	if len(got) != len(want) {
		var names []string
		for _, r := range got {
			names = append(names, r.Project+"/"+r.Stack)
		}
		t.Fatalf("audit reported %d stacks %v, want %d", len(got), names, len(want))
	}
	objects := map[string]store.Object{}
	_ = s.List(context.Background(), ".pulumi/stacks/", true, func(o store.Object) error { objects[s.Location(o.Key)] = o; return nil })
	for i, w := range want {
		r := got[i]
		name := w.project + "/" + w.stack
		if r.Project != w.project || r.Stack != w.stack {
			t.Errorf("report %d is %s/%s, want %s", i, r.Project, r.Stack, name)
			continue
		}
		if r.Provider != w.provider || r.SecretsProvider != w.url || r.Key != w.key || r.Region != w.region || r.EncryptedKeySHA != w.fp {
			t.Errorf("%s: provider %q url %q key %q region %q fp %q; want %q %q %q %q %q", name,
				r.Provider, r.SecretsProvider, r.Key, r.Region, r.EncryptedKeySHA, w.provider, w.url, w.key, w.region, w.fp)
		}
		if r.Compression != w.compression || r.CheckpointVersion != w.version {
			t.Errorf("%s: compression %q version %d, want %q %d", name, r.Compression, r.CheckpointVersion, w.compression, w.version)
		}
		if r.Locked != w.locked || r.Legacy != w.legacy {
			t.Errorf("%s: locked %v legacy %v, want %v %v", name, r.Locked, r.Legacy, w.locked, w.legacy)
		}
		switch {
		case w.err == "" && r.Error != "":
			t.Errorf("%s: unexpected error %q", name, r.Error)
		case w.err != "" && !strings.Contains(r.Error, w.err):
			t.Errorf("%s: error %q, want it to contain %q", name, r.Error, w.err)
		}
		o, ok := objects[r.Object]
		if !ok {
			t.Errorf("%s: object %q is not a stack file of the store", name, r.Object)
		} else if r.Size != o.Size || !r.LastModified.Equal(o.ModTime) {
			t.Errorf("%s: size %d modified %v, want %d %v", name, r.Size, r.LastModified, o.Size, o.ModTime)
		}
		if r.Flipped || r.PreviousProvider != "" || r.PreviousSecretsProvider != "" || r.PreviousObject != "" {
			t.Errorf("%s: flipped without history: %+v", name, r)
		}
	}
}

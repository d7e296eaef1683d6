package state

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
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
func auditBucket(t *testing.T) (*Backend, *storetest.Mem, []auditWant) {
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

func checkReports(t *testing.T, got []auditView, want []auditWant, s *storetest.Mem) {
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

func TestAudit(t *testing.T) {
	ctx := context.Background()
	b, s, want := auditBucket(t)
	got, err := auditViews(ctx, b, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkReports(t, got, want, s)
	for _, r := range got {
		if r.Stack == "twice" && r.Object != "mem://.pulumi/stacks/alpha/twice.json.gz" {
			t.Errorf("twice: object %s, want the newer .json.gz", r.Object)
		}
	}
}

func TestAuditJobsSameResult(t *testing.T) {
	ctx := context.Background()
	var results [][]StackAudit
	for _, jobs := range []int{1, 16, 0, 1000} {
		b, _, _ := auditBucket(t)
		got, err := auditAll(ctx, b, AuditOptions{Jobs: jobs})
		if err != nil {
			t.Fatalf("jobs %d: %v", jobs, err)
		}
		results = append(results, got)
	}
	for i := 1; i < len(results); i++ {
		if !reflect.DeepEqual(results[0], results[i]) {
			t.Errorf("run %d differs from jobs=1:\n%+v\n%+v", i, results[i], results[0])
		}
	}
}

func TestAuditProjectFilter(t *testing.T) {
	ctx := context.Background()
	b, s, all := auditBucket(t)
	got, err := auditViews(ctx, b, AuditOptions{Projects: []string{"beta"}})
	if err != nil {
		t.Fatal(err)
	}
	var want []auditWant
	for _, w := range all {
		// A legacy file's project is unknown from its key, so a project
		// filter keeps it.
		if w.project == "beta" || w.legacy {
			want = append(want, w)
		}
	}
	checkReports(t, got, want, s)

	if _, err := auditViews(ctx, b, AuditOptions{Projects: []string{"../x"}}); err == nil {
		t.Errorf("Audit with project ../x: no error")
	}
	got, err = auditViews(ctx, b, AuditOptions{Projects: []string{"nosuch"}})
	if err != nil || len(got) != 1 || !got[0].Legacy {
		t.Errorf("Audit of a project with no stacks = %+v, %v; want the legacy stack only", got, err)
	}
}

func TestAuditLegacyBucket(t *testing.T) {
	ctx := context.Background()
	cloud := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(auditAliasURL, testKMSKey)}.Build()
	b, _ := memBackend(map[string][]byte{
		metaKey:                             nil,
		".pulumi/stacks/dev.json":           cloud,
		".pulumi/stacks/prod.json.gz":       storetest.Gzip(t, storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt)}.Build()),
		".pulumi/stacks/prod.json.bak":      cloud,
		".pulumi/locks/dev/1.json":          []byte(`{}`),
		".pulumi/backups/dev/dev.1.json":    storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt)}.Build(),
		".pulumi/history/prod/prod-1.json":  cloud,
		".pulumi/stacks/proj/nested.json":   cloud,
		".pulumi/backups/prod/prod.5.json":  cloud,
		".pulumi/history/dev/dev-9.history": cloud,
	})
	for _, mode := range []HistoryMode{HistoryBounded, HistoryAll} {
		got, err := auditViews(ctx, b, AuditOptions{History: mode})
		if err != nil {
			t.Fatal(err)
		}
		checkLegacyAudit(t, mode, got)
	}
}

func checkLegacyAudit(t *testing.T, mode HistoryMode, got []auditView) {
	t.Helper()
	if len(got) != 2 {
		t.Fatalf("history mode %d: legacy audit = %+v, want dev and prod", mode, got)
	}
	dev, prod := got[0], got[1]
	if dev.Stack != "dev" || dev.Project != "" || !dev.Legacy || !dev.Locked || dev.Provider != "awskms" || !dev.Flipped || dev.PreviousProvider != "passphrase" {
		t.Errorf("history mode %d: dev = %+v", mode, dev)
	}
	if prod.Stack != "prod" || !prod.Legacy || prod.Locked || prod.Provider != "passphrase" || prod.Compression != "gzip" ||
		!prod.Flipped || prod.PreviousProvider != "awskms" || prod.PreviousSecretsProvider != auditAliasURL ||
		prod.PreviousObject != "mem://.pulumi/backups/prod/prod.5.json" {
		t.Errorf("history mode %d: prod = %+v", mode, prod)
	}
}

func TestAuditHistory(t *testing.T) {
	ctx := context.Background()
	kms := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey)}.Build()
	kmsRekeyed := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, auditOtherKey)}.Build()
	otherKMS := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(auditKeyIDURL, testKMSKey)}.Build()
	pass := storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt)}.Build()
	pass2 := storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase("v1:b3RoZXJzYWx0:v1:bm9uY2Vub25jZQ==:Y2lwaGVy")}.Build()
	none := storetest.Checkpoint{Version: 3, Resources: 1}.Build()
	b, s := memBackend(map[string][]byte{
		// Live passphrase, older backup awskms: the silent change of §4.5.
		".pulumi/stacks/demo/flipped.json":                              pass,
		".pulumi/backups/demo/flipped/flipped.1000000000000000001.json": kms,
		".pulumi/backups/demo/flipped/flipped.1000000000000000002.json": pass,
		// Only a history checkpoint (zstd) records the earlier provider.
		".pulumi/stacks/demo/fromhist.json.gz":                                           storetest.Gzip(t, pass),
		".pulumi/history/demo/fromhist/fromhist-1000000000000000003.checkpoint.json.zst": storetest.Zstd(t, kms),
		".pulumi/history/demo/fromhist/fromhist-1000000000000000003.history.json":        []byte(`{"kind":"update"}`),
		// The newest differing checkpoint is reported: after the same
		// alias, a key id, then an older passphrase.
		".pulumi/stacks/demo/twice.json":                                       kms,
		".pulumi/backups/demo/twice/twice.1000000000000000001.json":            pass,
		".pulumi/backups/demo/twice/twice.1000000000000000005.json":            otherKMS,
		".pulumi/history/demo/twice/twice-1000000000000000007.checkpoint.json": kms,
		// Same provider, a new data key: not a flip.
		".pulumi/stacks/demo/rekeyed.json":                              kmsRekeyed,
		".pulumi/backups/demo/rekeyed/rekeyed.1000000000000000001.json": kms,
		// Same passphrase provider, a new salt: not a flip.
		".pulumi/stacks/demo/resalted.json":                               pass2,
		".pulumi/backups/demo/resalted/resalted.1000000000000000001.json": pass,
		// Earlier checkpoints that record nothing or are corrupt are no
		// evidence of a flip.
		".pulumi/stacks/demo/noevidence.json":                                    pass,
		".pulumi/backups/demo/noevidence/noevidence.1000000000000000001.json":    none,
		".pulumi/backups/demo/noevidence/noevidence.1000000000000000002.json":    []byte(`{"version":3,"checkpoint":`),
		".pulumi/backups/demo/noevidence/noevidence.1000000000000000003.json.gz": []byte("not gzip at all"),
		// No history at all.
		".pulumi/stacks/demo/nohist.json": pass,
		// A .bak of the live file is not history.
		".pulumi/stacks/demo/bak.json":     pass,
		".pulumi/stacks/demo/bak.json.bak": kms,
		// Another stack's backups do not count.
		".pulumi/stacks/demo/neighbour.json":                                  pass,
		".pulumi/backups/demo/neighbour2/neighbour2.1000000000000000001.json": kms,
		".pulumi/backups/other/neighbour/neighbour.1000000000000000001.json":  kms,
	})
	_ = s
	type flip struct {
		flipped       bool
		prev, prevURL string
		prevObject    string
	}
	want := map[string]flip{
		"flipped":    {true, "awskms", testKMSURL, "mem://.pulumi/backups/demo/flipped/flipped.1000000000000000001.json"},
		"fromhist":   {true, "awskms", testKMSURL, "mem://.pulumi/history/demo/fromhist/fromhist-1000000000000000003.checkpoint.json.zst"},
		"twice":      {true, "awskms", auditKeyIDURL, "mem://.pulumi/backups/demo/twice/twice.1000000000000000005.json"},
		"rekeyed":    {},
		"resalted":   {},
		"noevidence": {},
		"nohist":     {},
		"bak":        {},
		"neighbour":  {},
	}
	for _, run := range []struct {
		mode HistoryMode
		jobs int
	}{{HistoryBounded, 1}, {HistoryBounded, 16}, {HistoryAll, 1}, {HistoryAll, 16}} {
		jobs := fmt.Sprintf("%d, history mode %d", run.jobs, run.mode)
		got, err := auditViews(ctx, b, AuditOptions{History: run.mode, Jobs: run.jobs})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("jobs %s: %d reports, want %d: %+v", jobs, len(got), len(want), got)
		}
		for _, r := range got {
			w, ok := want[r.Stack]
			if !ok {
				t.Errorf("unexpected stack %s", r.Stack)
				continue
			}
			g := flip{r.Flipped, r.PreviousProvider, r.PreviousSecretsProvider, r.PreviousObject}
			if g != w {
				t.Errorf("jobs %s: %s: flipped %+v, want %+v", jobs, r.Stack, g, w)
			}
			if r.Error != "" {
				t.Errorf("%s: error %q", r.Stack, r.Error)
			}
		}
	}
	// Without --history nothing is read beyond the live checkpoints, and
	// nothing is flipped.
	got, err := auditViews(ctx, b, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if r.Flipped || r.PreviousProvider != "" {
			t.Errorf("%s flipped without History: %+v", r.Stack, r)
		}
	}
}

func TestAuditReadsEachCheckpointOnce(t *testing.T) {
	ctx := context.Background()
	_, s, want := auditBucket(t)
	cs := &storetest.Counting{Store: s}
	b := NewBackend(nil, cs)
	got, err := auditViews(ctx, b, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d reports, want %d", len(got), len(want))
	}
	var sum int64
	reads := 0
	for _, r := range got {
		if strings.HasSuffix(r.Object, ".yaml") {
			continue // pulumi cannot read it, so neither is it read
		}
		sum += r.Size
		reads++
	}
	// meta.yaml once, then one ranged read per readable stack; lock files
	// are listed, not read.
	if got := cs.Reads(); got != int64(reads)+1 {
		t.Errorf("%d ReadRange calls, want %d (meta.yaml + one per checkpoint)", got, reads+1)
	}
	if cs.Bytes() != sum+int64(len("version: 1\n")) {
		t.Errorf("store served %d bytes, want %d", cs.Bytes(), sum+int64(len("version: 1\n")))
	}
}

func TestAuditProgress(t *testing.T) {
	ctx := context.Background()
	b, _, want := auditBucket(t)
	var mu sync.Mutex
	var dones []int
	readable := 0
	for _, w := range want {
		if w.stack != "yaml" {
			readable++
		}
	}
	_, err := auditViews(ctx, b, AuditOptions{Jobs: 4, Progress: func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if total != readable {
			t.Errorf("progress total %d, want %d", total, readable)
		}
		dones = append(dones, done)
	}})
	if err != nil {
		t.Fatal(err)
	}
	sort.Ints(dones)
	for i, d := range dones {
		if d != i+1 {
			t.Fatalf("progress done values %v, want 1..%d", dones, readable)
		}
	}
	if len(dones) != readable {
		t.Errorf("progress called %d times, want %d", len(dones), readable)
	}
}

func TestAuditCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	b, _, _ := auditBucket(t)
	cancel()
	if got, err := auditViews(ctx, b, AuditOptions{}); err == nil {
		t.Errorf("Audit with a cancelled context = %d reports, no error", len(got))
	}
}

func TestAuditEmpty(t *testing.T) {
	b, _ := memBackend(nil)
	got, err := auditViews(context.Background(), b, AuditOptions{History: HistoryBounded})
	if err != nil || len(got) != 0 {
		t.Errorf("Audit of an empty bucket = %+v, %v", got, err)
	}
}

// A .yaml stack file next to a readable .json of the same stack does not
// make the stack unreadable: pulumi lists the stack twice but loads the
// .json. The audit reports the stack once, from the .json.
func TestAuditYAMLBesideJSON(t *testing.T) {
	b, _ := memBackend(map[string][]byte{
		".pulumi/stacks/demo/dev.json":  storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt)}.Build(),
		".pulumi/stacks/demo/dev.yaml":  []byte("version: 3\n"),
		".pulumi/stacks/demo/only.yaml": []byte("version: 3\n"),
	})
	got, err := auditViews(context.Background(), b, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, r := range got {
		rows = append(rows, r.Stack+":"+r.Provider+":"+r.Error)
	}
	if len(got) != 2 || got[0].Stack != "dev" || got[0].Provider != "passphrase" || got[0].Error != "" ||
		got[1].Stack != "only" || got[1].Error == "" {
		t.Errorf("audit = %q; want dev (passphrase, no error) once and only (unreadable)", rows)
	}
}

// historyStack builds a stack whose live checkpoint records the passphrase
// provider, with one earlier checkpoint per letter of pattern, newest
// first: S the same provider (a new salt), D another (awskms), C a corrupt
// object, N a checkpoint that records no provider. Records alternate
// between backups and history checkpoints. It returns the backend over a
// counting store and the keys of the records, newest first.
func historyStack(t *testing.T, pattern string) (*Backend, *storetest.Counting, []string) {
	t.Helper()
	s := storetest.NewMem()
	s.Put(metaKey, []byte("version: 1\n"), t0)
	s.Put(".pulumi/stacks/demo/dev.json", storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt)}.Build(), t0)
	data := map[byte][]byte{
		'S': storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase("v1:b3RoZXJzYWx0:v1:bm9uY2Vub25jZQ==:Y2lwaGVy")}.Build(),
		'D': storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey)}.Build(),
		'C': []byte(`{"version":3,"checkpoint":{"latest":{"secrets`),
		'N': storetest.Checkpoint{Version: 3, Resources: 1}.Build(),
	}
	keys := make([]string, len(pattern))
	for i := range len(pattern) {
		nanos := 1700000000000000000 + int64(len(pattern)-i)*1000
		if i%2 == 0 {
			keys[i] = fmt.Sprintf(".pulumi/backups/demo/dev/dev.%d.json", nanos)
		} else {
			keys[i] = fmt.Sprintf(".pulumi/history/demo/dev/dev-%d.checkpoint.json", nanos)
		}
		d, ok := data[pattern[i]]
		if !ok {
			t.Fatalf("pattern %q: unknown letter %q", pattern, pattern[i])
		}
		s.Put(keys[i], d, t0)
	}
	cs := &storetest.Counting{Store: s}
	return NewBackend(nil, cs), cs, keys
}

// auditHistoryOf audits the one stack of b and returns its report and the
// number of reads of earlier checkpoints.
func auditHistoryOf(t *testing.T, b *Backend, cs *storetest.Counting, mode HistoryMode) (auditView, int) {
	t.Helper()
	got, err := auditViews(context.Background(), b, AuditOptions{History: mode})
	if err != nil || len(got) != 1 {
		t.Fatalf("Audit = %+v, %v; want one stack", got, err)
	}
	if got[0].Error != "" {
		t.Fatalf("Audit: %s", got[0].Error)
	}
	return got[0], int(cs.Reads()) - 2 // meta.yaml and the live checkpoint
}

// newestDiffering is what the exhaustive walk must find: the index of the
// first D, or -1.
func newestDiffering(pattern string) int { return strings.IndexByte(pattern, 'D') }

func TestAuditHistoryBounded(t *testing.T) {
	rep := func(letter string, n int) string { return strings.Repeat(letter, n) }
	tests := []struct {
		name     string
		pattern  string
		maxReads int // of the bounded search
	}{
		{"no history", "", 0},
		{"one record, same", "S", 1},
		{"one record, differs", "D", 1},
		{"never flipped, 200", rep("S", 200), 2},
		{"flipped at the newest", "D" + rep("S", 199), 1},
		{"flipped at the oldest", rep("S", 199) + "D", 10},
		{"all differ", rep("D", 200), 1},
		{"flipped in the middle", rep("S", 100) + rep("D", 100), 10},
		{"flipped after the newest", "S" + rep("D", 199), 10},
		{"flipped near the oldest", rep("S", 190) + rep("D", 10), 10},
		{"newest records corrupt", "CN" + rep("S", 50) + rep("D", 148), 12},
		{"oldest records corrupt", rep("S", 50) + rep("D", 148) + "NC", 12},
		{"corrupt around the flip", rep("S", 60) + rep("C", 5) + rep("N", 5) + rep("D", 130), 20},
		{"corrupt before and after the flip", rep("S", 97) + "CNC" + "NC" + rep("D", 98), 16},
		{"nothing decodes", rep("C", 100) + rep("N", 100), 6},
		{"only corrupt newer than the flip", rep("C", 120) + rep("D", 80), historyMaxReads},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := newestDiffering(tt.pattern)
			for _, mode := range []HistoryMode{HistoryBounded, HistoryAll} {
				b, cs, keys := historyStack(t, tt.pattern)
				r, reads := auditHistoryOf(t, b, cs, mode)
				wantObject := ""
				if want >= 0 {
					wantObject = "mem://" + keys[want]
				}
				if mode == HistoryBounded && want >= 0 && tt.maxReads == historyMaxReads {
					// Past the budget a differing record is named,
					// not necessarily the newest.
					i := slices.Index(keys, strings.TrimPrefix(r.PreviousObject, "mem://"))
					if !r.Flipped || i < 0 || tt.pattern[i] != 'D' {
						t.Errorf("mode %d: flipped %v from %q, want a flip from a differing record", mode, r.Flipped, r.PreviousObject)
					}
				} else if r.Flipped != (want >= 0) || r.PreviousObject != wantObject {
					t.Errorf("mode %d: flipped %v from %q, want %v from %q", mode, r.Flipped, r.PreviousObject, want >= 0, wantObject)
				}
				if r.Flipped && (r.PreviousProvider != "awskms" || r.PreviousSecretsProvider != testKMSURL) {
					t.Errorf("mode %d: previous %s %s, want awskms %s", mode, r.PreviousProvider, r.PreviousSecretsProvider, testKMSURL)
				}
				switch {
				case mode == HistoryBounded && reads > tt.maxReads:
					t.Errorf("bounded search read %d records, want at most %d", reads, tt.maxReads)
				case mode == HistoryAll && want < 0 && reads != len(tt.pattern):
					t.Errorf("exhaustive walk read %d records, want all %d", reads, len(tt.pattern))
				case mode == HistoryAll && want >= 0 && reads != want+1:
					t.Errorf("exhaustive walk read %d records, want %d (up to the newest differing)", reads, want+1)
				}
			}
		})
	}
}

// The bounded search assumes one change: a provider that changed and
// changed back between the records it reads (A…B…A) is missed, as the
// README says, and the exhaustive walk finds it.
func TestAuditHistoryBoundedMissesFlipBack(t *testing.T) {
	pattern := strings.Repeat("S", 50) + strings.Repeat("D", 50) + strings.Repeat("S", 100)
	b, cs, _ := historyStack(t, pattern)
	if r, reads := auditHistoryOf(t, b, cs, HistoryBounded); r.Flipped || reads != 2 {
		t.Errorf("bounded: flipped %v after %d reads; want the flip-back missed after 2", r.Flipped, reads)
	}
	b, cs, keys := historyStack(t, pattern)
	if r, _ := auditHistoryOf(t, b, cs, HistoryAll); !r.Flipped || r.PreviousObject != "mem://"+keys[50] {
		t.Errorf("exhaustive: flipped %v from %q, want from %s", r.Flipped, r.PreviousObject, keys[50])
	}
}

// On histories with one change and a few records that say nothing, the
// bounded search finds what the exhaustive walk finds, within its budget.
func TestAuditHistoryBoundedMatchesExhaustive(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for range 200 {
		n := 1 + rng.IntN(250)
		flip := rng.IntN(n + 1) // records from flip on differ; n: none
		p := []byte(strings.Repeat("S", flip) + strings.Repeat("D", n-flip))
		for range rng.IntN(4) {
			p[rng.IntN(n)] = "CN"[rng.IntN(2)]
		}
		pattern := string(p)
		want := newestDiffering(pattern)
		// A stack that says nothing at either end within the end reads
		// is outside the claim.
		if want >= 0 && !strings.ContainsAny(pattern[max(0, n-historyEndReads):], "SD") {
			continue
		}
		b, cs, keys := historyStack(t, pattern)
		r, reads := auditHistoryOf(t, b, cs, HistoryBounded)
		wantObject := ""
		if want >= 0 {
			wantObject = "mem://" + keys[want]
		}
		if r.Flipped != (want >= 0) || r.PreviousObject != wantObject {
			t.Errorf("%q: flipped %v from %q, want %v from %q", pattern, r.Flipped, r.PreviousObject, want >= 0, wantObject)
		}
		if reads > historyMaxReads {
			t.Errorf("%q: %d reads, budget %d", pattern, reads, historyMaxReads)
		}
	}
}

// manyStacks returns a backend of n passphrase stacks over a counting
// store.
func manyStacks(n int) (*Backend, *storetest.Counting) {
	s := storetest.NewMem()
	s.Put(metaKey, []byte("version: 1\n"), t0)
	data := storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt)}.Build()
	for i := range n {
		s.Put(fmt.Sprintf(".pulumi/stacks/demo/s%04d.json", i), data, t0)
	}
	cs := &storetest.Counting{Store: s}
	return NewBackend(nil, cs), cs
}

func TestAuditStops(t *testing.T) {
	// An error from fn stops the audit and is returned; fn is not called
	// again.
	b, _ := manyStacks(100)
	stop := errors.New("disk full")
	calls := 0
	err := b.Audit(context.Background(), AuditOptions{Jobs: 4}, func(StackAudit) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Errorf("Audit = %v after %d calls, want %v after 3", err, calls, stop)
	}

	// A context ended during the audit: no report after it, and its error.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls = 0
	err = b.Audit(ctx, AuditOptions{Jobs: 4}, func(StackAudit) error {
		calls++
		if calls == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 3 {
		t.Errorf("Audit = %v after %d calls, want context.Canceled after 3", err, calls)
	}
}

// The workers run a bounded distance ahead of a slow consumer: reports
// held at once do not grow with the number of stacks.
func TestAuditBoundsReadAhead(t *testing.T) {
	const jobs = 2
	b, cs := manyStacks(200)
	var order []string
	err := b.Audit(context.Background(), AuditOptions{Jobs: jobs}, func(a StackAudit) error {
		if len(order) == 0 {
			// Let the workers run as far as they can.
			for i := 0; i < 1000; i++ {
				runtime.Gosched()
			}
			time.Sleep(20 * time.Millisecond)
			// meta.yaml, the slots queued, one job held by each worker
			// and one the dispatcher is handing over.
			if got, limit := cs.Reads(), int64(1+4*jobs+jobs+1); got > limit {
				t.Errorf("%d reads while the first report is handled, want at most %d", got, limit)
			}
		}
		order = append(order, a.Stack.Ref.Name)
		return nil
	})
	if err != nil || len(order) != 200 || !slices.IsSorted(order) {
		t.Errorf("Audit = %v, %d reports, sorted %v", err, len(order), slices.IsSorted(order))
	}
}

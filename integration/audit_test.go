package integration

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stacksync/stacksync/integration/harness"
	"github.com/stacksync/stacksync/pkg/state/storetest"
)

// auditWant is what `stacksync audit` must report for a stack the test
// built.
type auditWant struct {
	project, stack  string
	provider, url   string
	key, region, fp string
	compression     string
	version         int
	locked, legacy  bool
	object          string // key in the bucket
	size            int64
}

func (w auditWant) name() string { return w.project + "/" + w.stack }

// auditKind is one provider form of the synthetic stacks.
type auditKind struct {
	class, url, key, region string
}

// auditKinds mixes every awskms URL form with passphrase (twice, so it is
// common) and the other cloud keepers.
var auditKinds = []auditKind{
	{"awskms", "awskms://alias/pulumi_backend_software?region=us-east-1", "alias/pulumi_backend_software", "us-east-1"},
	{"awskms", "awskms://alias/team-b?region=eu-west-1&awssdk=v2", "alias/team-b", "eu-west-1"},
	{"awskms", "awskms://1234abcd-12ab-34cd-56ef-1234567890ab?region=us-west-2", "1234abcd-12ab-34cd-56ef-1234567890ab", "us-west-2"},
	{"awskms", "awskms:///arn:aws:kms:ap-southeast-2:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321",
		"arn:aws:kms:ap-southeast-2:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321", "ap-southeast-2"},
	{"awskms", "awskms:///arn:aws:kms:eu-central-1:111122223333:alias/platform?context_team=platform",
		"arn:aws:kms:eu-central-1:111122223333:alias/platform", "eu-central-1"},
	{"awskms", "awskms://alias/no-region", "alias/no-region", ""},
	{"passphrase", "", "", ""},
	{"passphrase", "", "", ""},
	{"gcpkms", "gcpkms://projects/acme/locations/global/keyRings/pulumi/cryptoKeys/state", "", ""},
	{"azurekeyvault", "azurekeyvault://acme-vault.vault.azure.net/keys/pulumi-state", "", ""},
	{"hashivault", "hashivault://pulumi-state", "", ""},
}

const auditSalt = "v1:OrdgPgnyLI4=:v1:ZbyVyQ8r4jn1Ow1c:joNUUWtVSK2jNJehQJviFBrR0XuQMA=="

// auditBases are the real-pulumi checkpoints the synthetic stacks are
// made from: a deployed stack, a fresh init, and an indented v3.224.0 init
// that escapes & as \u0026. indent says the result is indented again.
var auditBases = []struct {
	file   string
	indent bool
}{
	{"v3.274.1-deployed.json", false},
	{"v3.274.1-init-cloud.json", false},
	{"v3.224.0-init-cloud.json", true},
}

// auditBuild returns the objects of a bucket and what an audit of it must
// say. In project mode it spreads n synthetic stacks over projects, and
// adds a stack recording no provider, the real gzip and zstd fixtures
// as-is, a locked stack, a stray legacy file, and .bak files; in legacy
// mode every stack sits directly under .pulumi/stacks/. kinds limits the
// provider forms used.
func auditBuild(t testing.TB, bucket string, legacy bool, projects []string, n int, kinds []auditKind) (map[string][]byte, []auditWant) {
	t.Helper()
	objs := map[string][]byte{}
	var wants []auditWant
	loc := func(key string) string { return "s3://" + bucket + "/" + key }
	keyOf := func(project, stack, ext string) string {
		if legacy {
			return ".pulumi/stacks/" + stack + ext
		}
		return ".pulumi/stacks/" + project + "/" + stack + ext
	}
	add := func(w auditWant, ext string, data []byte) {
		key := keyOf(w.project, w.stack, ext)
		if _, dup := objs[key]; dup {
			t.Fatalf("duplicate %s", key)
		}
		objs[key] = data
		w.object, w.size, w.legacy = loc(key), int64(len(data)), legacy || w.legacy
		if legacy {
			w.project = ""
		}
		wants = append(wants, w)
	}
	bases := make([][]byte, len(auditBases))
	for i, b := range auditBases {
		bases[i] = auditFixture(t, b.file)
	}
	if !legacy {
		objs[".pulumi/meta.yaml"] = []byte("version: 1\n")
	}
	for i := range n {
		project := projects[i%len(projects)]
		stack := fmt.Sprintf("stack-%04d", i)
		if i%7 == 3 {
			stack = fmt.Sprintf("svc.%d.eu-west-1", i) // dots are allowed in stack names
		}
		k := kinds[i%len(kinds)]
		base := (i / len(kinds)) % len(auditBases)
		w := auditWant{project: project, stack: stack, provider: k.class, url: k.url, key: k.key, region: k.region, version: 3}
		var sp auditSP
		if k.class == "passphrase" {
			sp = auditPassphraseSP(auditSalt)
		} else {
			dk := auditDataKey(fmt.Sprint(i % 17)) // some stacks share a data key
			sp, w.fp = auditCloudSP(k.url, dk), auditFingerprint(dk)
		}
		data := auditWithProvider(t, bases[base], sp, auditBases[base].indent)
		switch (i / 2) % 3 {
		case 0:
			w.compression = "none"
			add(w, ".json", data)
		case 1:
			w.compression = "gzip"
			add(w, ".json.gz", storetest.Gzip(t, data))
		case 2:
			w.compression = "zstd"
			add(w, ".json.zst", storetest.Zstd(t, data))
		}
		if i%10 == 0 {
			// pulumi leaves the previous checkpoint as .bak: not a stack.
			objs[keyOf(project, stack, ".json.bak")] = bases[1]
		}
	}
	p0 := projects[0]
	// The first write of stack init, as a live file: no provider.
	add(auditWant{project: p0, stack: "never-deployed", provider: "none", compression: "none", version: 0}, ".json",
		auditFixture(t, "v3.274.1-init.json.bak"))
	// Real compressed checkpoints, byte for byte as pulumi wrote them.
	gz := auditFixture(t, "v3.274.1-gzip.json.gz")
	gzKey := "S2Fybjphd3M6a21zOnVzLWVhc3QtMToxMTExMjIyMjMzMzM6a2V5Lzg5MGJjNzVjLWNjMDItNDkzZC04Njk0LTEzYjJkYzllMTI5NAAAAAA5jm1hMl7DWw7heJRXT8j+RwnuQuPGA57cPcz3x8YlZqcXPmdiy1lskkTX968kFPD3tgEXAEWrZ6FDKAQ="
	add(auditWant{project: p0, stack: "real-gzip", provider: "awskms", url: "awskms://alias/pulumi_backend_software?region=us-east-1",
		key: "alias/pulumi_backend_software", region: "us-east-1", fp: auditFingerprint(gzKey), compression: "gzip", version: 3}, ".json.gz", gz)
	add(auditWant{project: p0, stack: "real-zstd", provider: "passphrase", compression: "zstd", version: 3}, ".json.zst",
		auditFixture(t, "v3.274.1-zstd.json.zst"))
	// The indented v3.224.0 fixture as-is: its URL is escaped in the file.
	add(auditWant{project: p0, stack: "real-v3224", provider: "awskms", url: "awskms://alias/pulumi_backend_software?region=us-east-1&awssdk=v2",
		key: "alias/pulumi_backend_software", region: "us-east-1", compression: "none", version: 3,
		fp: auditFingerprint("S2Fybjphd3M6a21zOnVzLWVhc3QtMToxMTExMjIyMjMzMzM6a2V5Lzg5MGJjNzVjLWNjMDItNDkzZC04Njk0LTEzYjJkYzllMTI5NAAAAADYlSxogn1CADj2Dsz6FARaoZ1GmOoGyxqZNOtQyDGi+DexvwwweLvI3BjpmZYUPYkOKqY37VzeyjcGrm0=")},
		".json", bases[2])
	// A locked stack: a lock file in pulumi's format and place.
	lockW := auditWant{project: p0, stack: "locked", provider: "passphrase", compression: "none", version: 3, locked: true}
	add(lockW, ".json", auditWithProvider(t, bases[0], auditPassphraseSP(auditSalt), false))
	lock := []byte(`{"pid":31337,"username":"ci","hostname":"runner-7","timestamp":"2026-11-29T21:00:00.123456789Z"}`)
	if legacy {
		objs[".pulumi/locks/locked/6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b.json"] = lock
	} else {
		objs[".pulumi/locks/organization/"+p0+"/locked/6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b.json"] = lock
		// A legacy file left in the project-mode bucket.
		key := ".pulumi/stacks/stray.json"
		objs[key] = bases[1]
		wants = append(wants, auditWant{stack: "stray", legacy: true, provider: "awskms", url: "awskms://alias/pulumi_backend_software?region=us-east-1",
			key: "alias/pulumi_backend_software", region: "us-east-1", compression: "none", version: 3, object: loc(key), size: int64(len(bases[1])),
			fp: auditFingerprint("S2Fybjphd3M6a21zOnVzLWVhc3QtMToxMTExMjIyMjMzMzM6a2V5Lzg5MGJjNzVjLWNjMDItNDkzZC04Njk0LTEzYjJkYzllMTI5NAAAAABgiZ1F6+h7AwG5eCYIqRloJKEP7o7CYK7kUoztUjUV9T0iAepLFKLLiKvRQ2n2bMWC20ZpKY/V/aFIaMw=")})
	}
	sort.Slice(wants, func(i, j int) bool {
		if wants[i].project != wants[j].project {
			return wants[i].project < wants[j].project
		}
		return wants[i].stack < wants[j].stack
	})
	return objs, wants
}

// auditCheck compares the JSON audit with what was built.
func auditCheck(t *testing.T, o auditOutput, wants []auditWant) {
	t.Helper()
	if len(o.Stacks) != len(wants) {
		t.Fatalf("audit reported %d stacks, built %d", len(o.Stacks), len(wants))
	}
	counts := map[string]int{}
	locked := 0
	for i, w := range wants {
		r := o.Stacks[i]
		counts[w.provider]++
		if w.locked {
			locked++
		}
		got := auditWant{project: r.Project, stack: r.Stack, provider: r.Provider, url: r.SecretsProvider, key: r.Key, region: r.Region,
			fp: r.EncryptedKeySHA, compression: r.Compression, version: r.CheckpointVersion, locked: r.Locked, legacy: r.Legacy,
			object: r.Object, size: r.Size}
		if got != w {
			t.Errorf("stack %d:\n got %+v\nwant %+v", i, got, w)
		}
		if r.Error != "" || r.Flipped || r.PreviousProvider != "" {
			t.Errorf("%s: error %q flipped %v %q", w.name(), r.Error, r.Flipped, r.PreviousProvider)
		}
		if r.LastModified.IsZero() || time.Since(r.LastModified) > time.Hour {
			t.Errorf("%s: last_modified %v", w.name(), r.LastModified)
		}
	}
	s := o.Summary
	if s.Stacks != len(wants) || s.Locked != locked || s.Errors != 0 || s.Flipped != 0 {
		t.Errorf("summary %+v; want %d stacks, %d locked", s, len(wants), locked)
	}
	for _, c := range auditClasses {
		if s.Providers[c] != counts[c] {
			t.Errorf("summary: %s %d, built %d", c, s.Providers[c], counts[c])
		}
	}
}

// TestAuditS3 audits a versitygw bucket of a few hundred stacks built from
// real-pulumi checkpoints, and a legacy-layout bucket, in all three
// formats, through a recording proxy.
func TestAuditS3(t *testing.T) {
	bin := harness.BuildStacksync(t)
	s := harness.StartS3(t)
	s.CreateBucket(t, "audit")
	s.CreateBucket(t, "legacy")
	projects := []string{"payments", "platform", "web", "data-lake", "ml"}
	objs, wants := auditBuild(t, "audit", false, projects, 320, auditKinds)
	auditUpload(t, s, "audit", objs, 16)
	var legacyKinds []auditKind
	for _, k := range auditKinds {
		if k.class == "awskms" || k.class == "passphrase" {
			legacyKinds = append(legacyKinds, k)
		}
	}
	lobjs, lwants := auditBuild(t, "legacy", true, []string{""}, 24, legacyKinds)
	auditUpload(t, s, "legacy", lobjs, 16)
	t.Logf("built %d stacks in s3://audit (%d objects), %d in s3://legacy", len(wants), len(objs), len(lwants))

	proxy := harness.StartRecordingProxy(t, s.Endpoint)
	env := stacksyncEnv(t, s.Env()...)
	url := harness.S3BackendURL(proxy.HostPort, harness.Region, "audit", "")
	lurl := harness.S3BackendURL(proxy.HostPort, harness.Region, "legacy", "")

	var jsonOut auditOutput
	t.Run("json", func(t *testing.T) {
		proxy.Reset()
		o, e, code := runStacksync(t, bin, env, "audit", "--backend", url, "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d\nstderr:\n%s", code, e)
		}
		if e != "" {
			t.Errorf("stderr %q: progress must stay silent when stderr is not a terminal", e)
		}
		jsonOut = auditDecode(t, o)
		auditCheck(t, jsonOut, wants)

		// Read-only, and each live checkpoint read once, by its head.
		proxy.AssertReadOnly(t)
		reqs := proxy.Requests()
		var objectGets int
		for _, r := range reqs {
			p := r.Path()
			if r.Method != http.MethodGet || p == "/audit" || p == "/audit/" {
				continue
			}
			objectGets++
			if !strings.HasPrefix(p, "/audit/.pulumi/stacks/") && p != "/audit/.pulumi/meta.yaml" {
				t.Errorf("audit read %s, which is not a live checkpoint", p)
			}
			if strings.HasSuffix(p, ".bak") {
				t.Errorf("audit read a .bak: %s", p)
			}
		}
		for _, w := range wants {
			key := strings.TrimPrefix(w.object, "s3://audit/")
			gets := proxy.ObjectGets("audit", key)
			if len(gets) != 1 || gets[0].Range != "" {
				t.Errorf("%s: %d GETs %v, want one read of the whole object", key, len(gets), gets)
			}
		}
		if objectGets != len(wants)+1 {
			t.Errorf("%d object GETs, want %d (meta.yaml and one per stack)", objectGets, len(wants)+1)
		}
		t.Logf("%d requests for %d stacks", len(reqs), len(wants))
	})

	t.Run("csv", func(t *testing.T) {
		proxy.Reset()
		o, e, code := runStacksync(t, bin, env, "audit", "--backend", url, "-o", "csv")
		if code != 0 {
			t.Fatalf("exit %d\nstderr:\n%s", code, e)
		}
		assertOnlyGetHead(t, proxy, true)
		rows, err := csv.NewReader(strings.NewReader(o)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(wants)+1 {
			t.Fatalf("%d CSV rows, want header + %d", len(rows), len(wants))
		}
		col := map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		for _, h := range []string{"project", "stack", "provider", "secretsprovider", "key", "region", "encryptedkey_sha256",
			"object", "size", "last_modified", "compression", "checkpoint_version", "locked", "error"} {
			if _, ok := col[h]; !ok {
				t.Errorf("CSV header %q lacks %s", rows[0], h)
			}
		}
		counts := map[string]int{}
		for i, r := range rows[1:] {
			w := wants[i]
			counts[r[col["provider"]]]++
			if r[col["project"]] != w.project || r[col["stack"]] != w.stack || r[col["provider"]] != w.provider ||
				r[col["secretsprovider"]] != w.url || r[col["key"]] != w.key || r[col["region"]] != w.region ||
				r[col["encryptedkey_sha256"]] != w.fp || r[col["compression"]] != w.compression || r[col["object"]] != w.object ||
				r[col["size"]] != fmt.Sprint(w.size) || r[col["locked"]] != fmt.Sprint(w.locked) || r[col["error"]] != "" {
				t.Errorf("CSV row %d %q, want %+v", i, r, w)
			}
		}
		for _, c := range auditClasses {
			if counts[c] != jsonOut.Summary.Providers[c] {
				t.Errorf("CSV has %d %s stacks, JSON %d", counts[c], c, jsonOut.Summary.Providers[c])
			}
		}
	})

	t.Run("table", func(t *testing.T) {
		o, e, code := runStacksync(t, bin, env, "audit", "--backend", url)
		if code != 0 {
			t.Fatalf("exit %d\nstderr:\n%s", code, e)
		}
		lines := strings.Split(strings.TrimSuffix(o, "\n"), "\n")
		if len(lines) != len(wants)+2 {
			t.Fatalf("%d table lines, want header + %d + summary", len(lines), len(wants))
		}
		sum := jsonOut.Summary
		if want := auditSummaryLine(sum.Stacks, sum.Providers, sum.Locked, sum.Errors); lines[len(lines)-1] != want {
			t.Errorf("summary line %q, want %q", lines[len(lines)-1], want)
		}
		counts := map[string]int{}
		for i, l := range lines[1 : len(lines)-1] {
			f := strings.Fields(l)
			counts[f[2]]++
			if w := wants[i]; f[1] != w.stack || (w.legacy && f[0] != "(legacy)") || (!w.legacy && f[0] != w.project) {
				t.Errorf("table row %d %q, want %s", i, l, w.name())
			}
		}
		for _, c := range auditClasses {
			if counts[c] != sum.Providers[c] {
				t.Errorf("table has %d %s rows, JSON %d", counts[c], c, sum.Providers[c])
			}
		}
		t.Logf("summary: %s", lines[len(lines)-1])
	})

	t.Run("fail-on", func(t *testing.T) {
		for _, tc := range []struct {
			url  string
			args []string
			code int
		}{
			{url, []string{"--fail-on", "passphrase,none"}, 3},
			{url, []string{"--fail-on", "gcpkms", "-o", "json"}, 3},
			{url, []string{"--fail-on", "service,unknown"}, 0},
			{lurl, []string{"--fail-on", "gcpkms"}, 0},
			{lurl, []string{"--fail-on", "gcpkms,azurekeyvault,hashivault,service,unknown"}, 0},
			{lurl, []string{"--fail-on", "none"}, 3},
			{lurl, []string{"--fail-on", "passphrase,none"}, 3},
			{url, []string{"--fail-on", "kms"}, 2},
		} {
			proxy.Reset()
			args := append([]string{"audit", "--backend", tc.url}, tc.args...)
			o, e, code := runStacksync(t, bin, env, args...)
			if code != tc.code {
				t.Errorf("stacksync %s: exit %d, want %d\nstderr:\n%s\nstdout:\n%.500s", strings.Join(tc.args, " "), code, tc.code, e, o)
			}
			assertOnlyGetHead(t, proxy, false)
		}
	})

	t.Run("project", func(t *testing.T) {
		o, e, code := runStacksync(t, bin, env, "audit", "--backend", url, "-o", "json", "--project", "web", "--project", "ml", "-j", "3")
		if code != 0 {
			t.Fatalf("exit %d\nstderr:\n%s", code, e)
		}
		var sub []auditWant
		for _, w := range wants {
			// Legacy files have no project in their key, so every
			// project filter keeps them.
			if w.project == "web" || w.project == "ml" || w.legacy {
				sub = append(sub, w)
			}
		}
		auditCheck(t, auditDecode(t, o), sub)
	})

	t.Run("legacy", func(t *testing.T) {
		proxy.Reset()
		o, e, code := runStacksync(t, bin, env, "audit", "--backend", lurl, "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d\nstderr:\n%s", code, e)
		}
		auditCheck(t, auditDecode(t, o), lwants)
		proxy.AssertReadOnly(t)
		o, _, code = runStacksync(t, bin, env, "audit", "--backend", lurl)
		if code != 0 || !strings.Contains(o, "(legacy)") {
			t.Errorf("legacy table: exit %d\n%s", code, o)
		}
		o, _, code = runStacksync(t, bin, env, "ls", "--backend", lurl)
		if code != 0 || strings.Count(o, "\n") != len(lwants) || strings.Contains(o, "/") {
			t.Errorf("ls of the legacy bucket: exit %d\n%s", code, o)
		}
	})

	t.Run("ls", func(t *testing.T) {
		proxy.Reset()
		o, e, code := runStacksync(t, bin, env, "ls", "--backend", url)
		if code != 0 {
			t.Fatalf("exit %d\nstderr:\n%s", code, e)
		}
		var names []string
		for _, w := range wants {
			n := w.name()
			if w.legacy {
				n = w.stack
			}
			names = append(names, n)
		}
		got := strings.Split(strings.TrimSuffix(o, "\n"), "\n")
		sort.Strings(got)
		sort.Strings(names)
		if !slices.Equal(got, names) {
			t.Errorf("ls printed %d names, want %d", len(got), len(names))
		}
		// Listings and meta.yaml only: no checkpoint is read.
		for _, r := range proxy.Requests() {
			if p := r.Path(); r.Method != http.MethodGet || (p != "/audit" && p != "/audit/" && p != "/audit/.pulumi/meta.yaml") {
				t.Errorf("ls sent %s", r)
			}
		}
	})
}

// TestAuditS3FlippedByPulumi makes the silent provider change of spec §4.5
// with the real pulumi, and checks that audit --history and show report
// it.
func TestAuditS3FlippedByPulumi(t *testing.T) {
	bin := harness.BuildStacksync(t)
	s := harness.StartS3(t)
	k := harness.StartKMS(t)
	s.CreateBucket(t, "state")
	p := harness.NewPulumi(t, harness.PulumiVersion)
	p.UseKMS(k)
	dir := harness.NewYAMLProject(t, "flipdemo", "outputs:\n  greeting: hello\n")
	providerURL := p.SecretsProviderURL(k)

	p.MustRun(dir, nil, "login", s.BackendURL("state", ""))
	p.MustRun(dir, nil, "stack", "init", "dev", "--secrets-provider="+providerURL)
	p.MustRun(dir, nil, "config", "set", "--secret", "apikey", "s3cr3t")
	p.MustRun(dir, nil, "up", "--yes", "--non-interactive", "--skip-preview")
	live := ".pulumi/stacks/flipdemo/dev.json"
	if cp := s.GetObject(t, "state", live); !strings.Contains(string(cp), `"type":"cloud"`) {
		t.Fatalf("checkpoint after the first up is not cloud:\n%s", cp)
	}

	// The settings file is lost, CI sets a passphrase, and the next up
	// re-encrypts the state with it.
	if err := os.Remove(filepath.Join(dir, "Pulumi.dev.yaml")); err != nil {
		t.Fatal(err)
	}
	pass := []string{"PULUMI_CONFIG_PASSPHRASE=correct horse battery staple"}
	p.MustRun(dir, pass, "up", "--yes", "--non-interactive", "--skip-preview", "-s", "dev")
	var cp struct {
		Checkpoint struct {
			Latest struct {
				SecretsProviders struct {
					Type string `json:"type"`
				} `json:"secrets_providers"`
			} `json:"latest"`
		} `json:"checkpoint"`
	}
	raw := s.GetObject(t, "state", live)
	if err := json.Unmarshal(raw, &cp); err != nil || cp.Checkpoint.Latest.SecretsProviders.Type != "passphrase" {
		t.Fatalf("pulumi did not re-encrypt the state with the passphrase (%v):\n%s", err, raw)
	}
	t.Logf("bucket: %q", s.ListKeys(t, "state", ".pulumi/"))

	// Neighbours that sort before it and did not flip.
	base := auditFixture(t, "v3.274.1-init-cloud.json")
	auditUpload(t, s, "state", map[string][]byte{
		".pulumi/stacks/aaa/one.json":        base,
		".pulumi/stacks/aaa/two.json.gz":     storetest.Gzip(t, auditWithProvider(t, base, auditPassphraseSP(auditSalt), false)),
		".pulumi/stacks/flipdemo/ci.json":    auditWithProvider(t, base, auditPassphraseSP(auditSalt), false),
		".pulumi/backups/aaa/one/one.1.json": base,
	}, 4)

	proxy := harness.StartRecordingProxy(t, s.Endpoint)
	env := stacksyncEnv(t, s.Env()...)
	url := harness.S3BackendURL(proxy.HostPort, harness.Region, "state", "")

	o, e, code := runStacksync(t, bin, env, "audit", "--backend", url, "--history", "-o", "json")
	if code != 0 {
		t.Fatalf("audit --history: exit %d\nstderr:\n%s", code, e)
	}
	proxy.AssertReadOnly(t)
	out := auditDecode(t, o)
	if len(out.Stacks) != 4 {
		t.Fatalf("audit --history: %d stacks, want 4\n%s", len(out.Stacks), o)
	}
	dev := out.Stacks[0]
	if dev.Project != "flipdemo" || dev.Stack != "dev" || !dev.Flipped || dev.Provider != "passphrase" ||
		dev.PreviousProvider != "awskms" || dev.PreviousSecretsProvider != providerURL || dev.Error != "" {
		t.Errorf("first stack %+v, want flipdemo/dev flipped from awskms %s", dev, providerURL)
	}
	for _, r := range out.Stacks[1:] {
		if r.Flipped {
			t.Errorf("%s/%s flipped", r.Project, r.Stack)
		}
	}
	if out.Summary.Flipped != 1 {
		t.Errorf("summary %+v, want 1 flipped", out.Summary)
	}

	o, _, code = runStacksync(t, bin, env, "audit", "--backend", url, "--history")
	lines := strings.Split(strings.TrimSuffix(o, "\n"), "\n")
	if code != 0 || len(lines) != 6 || !strings.HasPrefix(lines[1], "flipdemo ") || !strings.Contains(lines[1], "awskms "+providerURL) ||
		!strings.HasSuffix(lines[5], "; 1 flipped") {
		t.Errorf("audit --history table (exit %d), want flipdemo/dev first, flipped from awskms:\n%s", code, o)
	}
	// Without --history the same stack is neither flipped nor first.
	o, _, _ = runStacksync(t, bin, env, "audit", "--backend", url, "-o", "json")
	if plain := auditDecode(t, o); plain.Stacks[0].Stack == "dev" || plain.Summary.Flipped != 0 {
		t.Errorf("audit without --history: %+v", plain)
	}

	// show lists the history newest first: passphrase, then awskms.
	proxy.Reset()
	o, e, code = runStacksync(t, bin, env, "show", "flipdemo/dev", "--backend", url, "-o", "json")
	if code != 0 {
		t.Fatalf("show: exit %d\nstderr:\n%s", code, e)
	}
	proxy.AssertReadOnly(t)
	var d struct {
		Provider string `json:"provider"`
		History  []struct {
			Time            time.Time `json:"time"`
			Kind            string    `json:"kind"`
			Provider        string    `json:"provider"`
			SecretsProvider string    `json:"secretsprovider"`
			Error           string    `json:"error"`
		} `json:"history"`
	}
	if err := json.Unmarshal([]byte(o), &d); err != nil {
		t.Fatalf("show -o json: %v\n%s", err, o)
	}
	var seq []string
	for i, h := range d.History {
		if i > 0 && h.Time.After(d.History[i-1].Time) {
			t.Errorf("history not newest first: %+v", d.History)
		}
		if h.Error != "" {
			t.Errorf("history entry %+v has an error", h)
		}
		if h.Provider == "awskms" && h.SecretsProvider != providerURL {
			t.Errorf("history entry %+v: url", h)
		}
		if len(seq) == 0 || seq[len(seq)-1] != h.Provider {
			seq = append(seq, h.Provider)
		}
	}
	if d.Provider != "passphrase" || !slices.Equal(seq, []string{"passphrase", "awskms"}) {
		t.Errorf("show: provider %s, history providers %v (newest first), want passphrase then awskms\n%s", d.Provider, seq, o)
	}
	o, _, code = runStacksync(t, bin, env, "show", "flipdemo/dev", "--backend", url)
	if code != 0 || !strings.Contains(o, "provider:     passphrase") || !strings.Contains(o, "history:      newest first") {
		t.Errorf("show text (exit %d):\n%s", code, o)
	}
	t.Logf("show:\n%s", o)
}

// BenchmarkAuditS3 times one `stacksync audit -o json` process against
// versitygw on loopback, for 1,000 and 10,000 small real-pulumi
// checkpoints (the v3.274.1 fixtures as-is, round robin, over 10
// projects). It reports the median wall time, stacks/s, and the bytes read
// per stack. The bytes come from one more, untimed, run through a proxy
// that counts the response bodies of object GETs (checkpoints, plus one
// meta.yaml) and of listings separately; the timed runs go straight to
// versitygw.
//
//	cd integration && go test -run '^$' -bench AuditS3 -benchtime 3x -timeout 60m
func BenchmarkAuditS3(b *testing.B) {
	bin := harness.BuildStacksync(b)
	s := harness.StartS3(b)
	env := stacksyncEnv(b, s.Env()...)
	var fixtures [][]byte
	for _, f := range []string{"v3.274.1-init-cloud.json", "v3.274.1-init-passphrase.json", "v3.274.1-deployed.json",
		"v3.274.1-gzip.json.gz", "v3.274.1-zstd.json.zst"} {
		fixtures = append(fixtures, auditFixture(b, f))
	}
	exts := []string{".json", ".json", ".json", ".json.gz", ".json.zst"}
	var objPerStack, listPerStack float64
	for _, n := range []int{1000, 10000} {
		// The testing package calls a sub-benchmark more than once (b.N = 1,
		// then the -benchtime count): upload and measure bytes only once.
		var setup sync.Once
		b.Run(fmt.Sprintf("stacks=%d", n), func(b *testing.B) {
			bucket := fmt.Sprintf("bench%d", n)
			audit := func(b *testing.B, backend string) time.Duration {
				start := time.Now()
				o, e, code := runStacksync(b, bin, env, "audit", "--backend", backend, "-o", "json")
				d := time.Since(start)
				if code != 0 {
					b.Fatalf("exit %d\nstderr:\n%s", code, e)
				}
				var out auditOutput
				if err := json.Unmarshal([]byte(o), &out); err != nil || out.Summary.Stacks != n {
					b.Fatalf("audit reported %d stacks, want %d (%v)", out.Summary.Stacks, n, err)
				}
				return d
			}
			setup.Do(func() {
				s.CreateBucket(b, bucket)
				objs := map[string][]byte{".pulumi/meta.yaml": []byte("version: 1\n")}
				var total int64
				for i := range n {
					f := i % len(fixtures)
					objs[fmt.Sprintf(".pulumi/stacks/proj-%02d/stack-%05d%s", i%10, i, exts[f])] = fixtures[f]
					total += int64(len(fixtures[f]))
				}
				start := time.Now()
				auditUpload(b, s, bucket, objs, 16)
				b.Logf("uploaded %d objects in %v", len(objs), time.Since(start))

				// Bytes: one run through the counting proxy.
				proxy := auditStartByteProxy(b, s.Endpoint)
				audit(b, harness.S3BackendURL(proxy.HostPort, harness.Region, bucket, ""))
				if proxy.others.Load() != 0 {
					b.Errorf("audit sent %d requests other than GET/HEAD", proxy.others.Load())
				}
				if got := proxy.objectGets.Load(); got != int64(n)+1 {
					b.Errorf("%d object GETs, want %d", got, n+1)
				}
				objPerStack = float64(proxy.objectBytes.Load()-int64(len("version: 1\n"))) / float64(n)
				listPerStack = float64(proxy.listBytes.Load()) / float64(n)
				b.Logf("object bytes read: %d (checkpoints total %d), %d listings of %d bytes",
					proxy.objectBytes.Load(), total, proxy.lists.Load(), proxy.listBytes.Load())
			})
			url := s.BackendURL(bucket, "")

			var runs []time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				runs = append(runs, audit(b, url))
			}
			b.StopTimer()
			med := sortedMedian(runs)
			b.ReportMetric(float64(med.Nanoseconds())/1e6, "ms-median")
			b.ReportMetric(float64(n)/med.Seconds(), "stacks/s")
			b.ReportMetric(objPerStack, "B-read/stack")
			b.ReportMetric(listPerStack, "B-listed/stack")
			b.Logf("%d stacks, %d runs: median %v, min %v, max %v; %.0f B/stack read, %.0f B/stack listing",
				n, len(runs), med, runs[0], runs[len(runs)-1], objPerStack, listPerStack)
		})
	}
}

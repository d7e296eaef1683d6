package integration

// The investigation's scenario on a gs:// backend: real pulumi keeps an
// awskms stack (keys in local-kms) and a passphrase stack in
// fake-gcs-server, the settings files lose their provider, pulumi asks for
// a passphrase, the built stacksync binary restores them (the backend
// given by --backend and by pulumi login), and real pulumi reads the
// secrets again.

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stacksync/stacksync/integration/harness"
)

func TestBackendGS(t *testing.T) {
	bin := harness.BuildStacksync(t)
	g := harness.StartGCS(t)
	k := harness.StartKMS(t)
	for _, f := range []struct {
		name, bucket, prefix string
	}{
		{"root", "state", ""},
		{"prefix", "prefixed", "team/a"},
	} {
		t.Run(f.name, func(t *testing.T) {
			g.CreateBucket(t, f.bucket)
			gsScenario(t, bin, g, k, f.bucket, f.prefix)
		})
	}
}

// gsScenario runs the scenario on gs://bucket/prefix.
func gsScenario(t *testing.T, bin string, g *harness.GCS, k *harness.KMS, bucket, prefix string) {
	for _, provider := range []string{"awskms alias", "passphrase"} {
		harness.RecordCell(t, harness.Cell{Pulumi: harness.PulumiVersion, Provider: provider, Compression: "none", Layout: "project", Backend: "gs"})
	}
	url := g.BackendURL(bucket, prefix)
	keyPrefix := ""
	if prefix != "" {
		keyPrefix = prefix + "/"
	}
	p := harness.NewPulumi(t, harness.PulumiVersion)
	p.UseKMS(k)
	for _, kv := range g.Env() {
		name, v, _ := strings.Cut(kv, "=")
		p.Setenv(name, v)
	}
	dir := harness.NewYAMLProject(t, scenarioProject, "outputs:\n  greeting: hello\n")
	p.MustRun(dir, nil, "login", url)

	kmsURL := p.SecretsProviderURL(k)
	pass := passphraseEnv("p1")
	goodKMS := initStackWithSecret(t, p, dir, "kms", kmsURL, nil)
	p.MustRun(dir, nil, "up", "--yes", "--non-interactive", "--skip-preview", "-s", "kms")
	goodPass := initStackWithSecret(t, p, dir, "pass", "passphrase", pass)
	p.MustRun(dir, pass, "up", "--yes", "--non-interactive", "--skip-preview", "-s", "pass")
	keys := g.ListKeys(t, bucket, "")
	for _, s := range []string{"kms", "pass"} {
		if want := keyPrefix + stackKey(scenarioProject, s, ""); !slices.Contains(keys, want) {
			t.Fatalf("no %s in gs://%s after pulumi up; keys:\n%s", want, bucket, strings.Join(keys, "\n"))
		}
	}

	lostKMS := loseSettingsFile(t, p, dir, "kms", goodKMS)
	assertPassphraseRequired(t, p, dir, "kms")
	lostPass := loseSettingsFile(t, p, dir, "pass", goodPass)
	assertPassphraseRequired(t, p, dir, "pass")

	// The awskms stack with --backend, through a proxy that records every
	// request: stacksync only reads.
	proxy := harness.StartRecordingProxy(t, g.Endpoint)
	proxied := stacksyncEnv(t, "STORAGE_EMULATOR_HOST="+proxy.HostPort)
	o := mustStacksync(t, bin, proxied, "restore", "-C", dir, "--backend", url, "kms")
	proxy.AssertReadOnly(t)
	assertRestoreLine(t, o, "kms", "awskms "+settingsProvider(goodKMS).keyID())
	assertRestoredFile(t, settingsPath(dir, "kms"), goodKMS, lostKMS)
	p.MustRun(dir, nil, "stack", "select", "kms")
	assertSecretsWork(t, p, dir, "kms", nil, "x")

	// The requests of a restore are in flight together, as on S3: with a
	// 100 ms delay on each, requests sent together overlap.
	slow := harness.StartRecordingProxy(t, g.Endpoint)
	slow.Delay = 100 * time.Millisecond
	mustStacksync(t, bin, stacksyncEnv(t, "STORAGE_EMULATOR_HOST="+slow.HostPort), "restore", "--dry-run", "-C", dir, "--backend", url, "kms")
	if reqs := slow.Requests(); len(reqs) != 4 || slow.MaxInFlight() != len(reqs) {
		t.Errorf("restore --dry-run: %d requests, at most %d in flight together; want 4 (meta.yaml, variants, checkpoint, locks) in one round:\n%v", len(reqs), slow.MaxInFlight(), reqs)
	}

	// The passphrase stack with the backend pulumi login recorded in
	// credentials.json.
	loggedIn := stacksyncEnv(t, append(g.Env(), "PULUMI_HOME="+p.Home)...)
	o = mustStacksync(t, bin, loggedIn, "restore", "-C", dir, "pass")
	assertRestoreLine(t, o, "pass", "passphrase")
	assertRestoredFile(t, settingsPath(dir, "pass"), goodPass, lostPass)
	p.MustRun(dir, nil, "stack", "select", "pass")
	assertSecretsWork(t, p, dir, "pass", pass, "x")

	// audit finds both providers.
	o, e, code := runStacksync(t, bin, loggedIn, "audit", "--backend", url, "-o", "json")
	if code != 0 {
		t.Fatalf("audit: exit %d\nstderr:\n%s", code, e)
	}
	out := auditDecode(t, o)
	got := map[string]string{}
	for _, r := range out.Stacks {
		got[r.Project+"/"+r.Stack] = r.Provider
		if r.Error != "" {
			t.Errorf("audit: %s/%s: %s", r.Project, r.Stack, r.Error)
		}
	}
	if len(got) != 2 || got["demo/kms"] != "awskms" || got["demo/pass"] != "passphrase" {
		t.Errorf("audit found %v, want demo/kms awskms and demo/pass passphrase\n%s", got, o)
	}

	// A stack the backend does not hold exits 5 and leaves the project
	// alone.
	snap := snapshot(t, dir)
	o, e, code = runStacksync(t, bin, loggedIn, "restore", "-C", dir, "--backend", url, "nosuch")
	if code != 5 || !containsAnyFold(e, []string{"not found"}) {
		t.Errorf("restore nosuch: exit %d, want 5 with \"not found\"\nstdout:\n%s\nstderr:\n%s", code, o, e)
	}
	snap.assertSame(t, snapshot(t, dir))
}

// assertRestoreLine requires the stdout line "<stack>: updated
// Pulumi.<stack>.yaml (<describe>)".
func assertRestoreLine(t *testing.T, stdout, stack, describe string) {
	t.Helper()
	want := stack + ": updated Pulumi." + stack + ".yaml (" + describe + ")"
	if !slices.Contains(strings.Split(strings.TrimSuffix(stdout, "\n"), "\n"), want) {
		t.Errorf("stacksync restore stdout:\n%s\nwant the line:\n%s", stdout, want)
	}
}

package integration

// End to end on azblob:// backends: real pulumi keeps its state in Azurite
// (awskms keys in local-kms), the settings files are lost, the built
// stacksync binary restores them, and pulumi reads the secrets again; with
// the server in the URL, in the environment only, and in a connection
// string, at the container's root and under a key prefix.

import (
	"slices"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/integration/harness"
)

// azblobForm is one way of pointing pulumi and stacksync at Azurite: the
// backend URL and the environment both need for it.
type azblobForm struct {
	name, container, prefix, url string
	env                          []string
}

// TestBackendAzblob: for each form, pulumi creates an awskms stack and a
// passphrase stack and deploys them; the settings files lose their
// provider and pulumi asks for a passphrase; stacksync restores the awskms
// stack from --backend and the passphrase stack from pulumi login's
// backend; pulumi then decrypts the awskms secret with no passphrase and
// the passphrase secret with the original passphrase. Audit finds both
// providers, and a stack the backend lacks exits 5.
func TestBackendAzblob(t *testing.T) {
	t.Parallel()
	bin := harness.BuildStacksync(t)
	a := startTimed(t, "azurite-blob", harness.StartAzurite)
	k := harness.StartKMS(t)
	forms := []azblobForm{
		{"url", "state", "", a.BackendURL("state", ""), a.Env()},
		{"url prefix", "prefixed", "team/a/", a.BackendURL("prefixed", "team/a"), a.Env()},
		{"env only", "envonly", "", a.BareURL("envonly", ""), a.EnvOnly()},
		{"connection string prefix", "connstr", "ci/", a.BareURL("connstr", "ci"), a.ConnectionStringEnv()},
	}
	for _, f := range forms {
		a.CreateContainer(t, f.container)
		t.Run(f.name, func(t *testing.T) {
			for _, provider := range []string{"awskms alias", "passphrase"} {
				harness.RecordCell(t, harness.Cell{Pulumi: harness.PulumiVersion, Provider: provider, Compression: "none", Layout: "project", Backend: "azblob"})
			}
			azblobScenario(t, bin, a, k, f)
		})
	}
}

func azblobScenario(t *testing.T, bin string, a *harness.Azurite, k *harness.KMS, f azblobForm) {
	dir := harness.NewYAMLProject(t, scenarioProject, "outputs:\n  greeting: hello\n")
	p := harness.NewPulumi(t, harness.PulumiVersion)
	p.UseKMS(k)
	for _, kv := range f.env {
		name, v, _ := strings.Cut(kv, "=")
		p.Setenv(name, v)
	}
	p.MustRun(dir, nil, "login", f.url)
	providerURL := k.SecretsProviderURL(false)
	p1 := passphraseEnv("p1")
	up := []string{"up", "--yes", "--non-interactive", "--skip-preview"}

	goodKMS := initStackWithSecret(t, p, dir, "kms", providerURL, nil)
	p.MustRun(dir, nil, up...)
	goodPass := initStackWithSecret(t, p, dir, "pass", "passphrase", p1)
	p.MustRun(dir, p1, up...)
	keys := a.ListKeys(t, f.container, "")
	for _, s := range []string{"kms", "pass"} {
		if want := f.prefix + stackKey(scenarioProject, s, ""); !slices.Contains(keys, want) {
			t.Fatalf("no %s in azblob://%s after pulumi up; keys:\n%s", want, f.container, strings.Join(keys, "\n"))
		}
	}

	lostKMS := loseSettingsFile(t, p, dir, "kms", goodKMS)
	assertPassphraseRequired(t, p, dir, "kms")
	lostPass := loseSettingsFile(t, p, dir, "pass", goodPass)
	assertPassphraseRequired(t, p, dir, "pass")

	env := stacksyncEnv(t, f.env...)
	// The awskms stack from --backend.
	o := mustStacksync(t, bin, env, "restore", "-C", dir, "--backend", f.url, "kms")
	if want := "kms: updated Pulumi.kms.yaml (awskms " + settingsProvider(goodKMS).keyID() + ")"; !strings.Contains(o, want) {
		t.Errorf("restore kms stdout:\n%s\nwant the line %q", o, want)
	}
	// The passphrase stack from the backend pulumi login recorded.
	o = mustStacksync(t, bin, append(env, "PULUMI_HOME="+p.Home), "restore", "-C", dir, "pass")
	if want := "pass: updated Pulumi.pass.yaml (passphrase)"; !strings.Contains(o, want) {
		t.Errorf("restore pass stdout:\n%s\nwant the line %q", o, want)
	}
	assertRestoredFile(t, settingsPath(dir, "kms"), goodKMS, lostKMS)
	assertRestoredFile(t, settingsPath(dir, "pass"), goodPass, lostPass)
	p.MustRun(dir, nil, "stack", "select", "kms")
	assertSecretsWork(t, p, dir, "kms", nil, "x")
	p.MustRun(dir, nil, "stack", "select", "pass")
	assertSecretsWork(t, p, dir, "pass", p1, "x")

	out := auditDecode(t, mustStacksync(t, bin, env, "audit", "--backend", f.url, "-o", "json"))
	if out.Summary.Stacks != 2 || out.Summary.Providers["awskms"] != 1 || out.Summary.Providers["passphrase"] != 1 || out.Summary.Errors != 0 {
		t.Errorf("audit summary %+v, want 2 stacks: 1 awskms, 1 passphrase, no errors", out.Summary)
	}
	for _, s := range out.Stacks {
		if want := "azblob://" + f.container + "/" + f.prefix + stackKey(scenarioProject, s.Stack, ""); s.Object != want {
			t.Errorf("audit object %q, want %q", s.Object, want)
		}
	}

	_, e, code := runStacksync(t, bin, env, "restore", "-C", dir, "--backend", f.url, "nosuch")
	if code != 5 || !containsAnyFold(e, []string{"not found"}) {
		t.Errorf("restore nosuch: exit %d, want 5 with \"not found\"; stderr:\n%s", code, e)
	}
}

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/integration/harness"
)

// Helpers of scenarios_layout_test.go. Every name starts with "layout" so
// that other scenario files of the package can add their own helpers.

// layoutProject is the project name every layout scenario uses.
const layoutProject = "demo"

// layoutWorld is what the subtests of one layout test share: a versitygw
// gateway, a local-kms holding alias/pulumi_backend_software, and the
// stacksync binary.
type layoutWorld struct {
	s           *harness.S3
	k           *harness.KMS
	bin         string
	providerURL string // awskms://alias/pulumi_backend_software?region=us-east-1
}

func newLayoutWorld(t *testing.T) *layoutWorld {
	t.Helper()
	w := &layoutWorld{bin: harness.BuildStacksync(t), s: harness.StartS3(t), k: harness.StartKMS(t)}
	w.providerURL = w.k.SecretsProviderURL(false)
	return w
}

// pulumi returns a pulumi v3.274.1 runner with its own PULUMI_HOME that
// reaches local-kms, with PULUMI_BACKEND_URL=backend unless backend is "".
func (w *layoutWorld) pulumi(t *testing.T, backend string) *harness.Pulumi {
	t.Helper()
	p := harness.NewPulumi(t, harness.PulumiVersion)
	p.UseKMS(w.k)
	if backend != "" {
		p.Setenv("PULUMI_BACKEND_URL", backend)
	}
	return p
}

// s3Env is stacksync's environment for the gateway: credentials, region,
// and nothing from the outer environment.
func (w *layoutWorld) s3Env(t *testing.T) []string {
	t.Helper()
	return stacksyncEnv(t, w.s.Env()...)
}

// layoutCell records the scenario in the compatibility matrix.
func layoutCell(t *testing.T, layout, backend string) {
	harness.RecordCell(t, harness.Cell{
		Pulumi:      harness.PulumiVersion,
		Provider:    "awskms alias",
		Compression: "none",
		Layout:      layout,
		Backend:     backend,
	})
}

// layoutProjectDir writes a project file named file ("Pulumi.yaml" or
// "Pulumi.yml") holding name demo, runtime yaml and body, into a fresh dir.
func layoutProjectDir(t *testing.T, file, body string) string {
	t.Helper()
	dir := t.TempDir()
	content := "name: " + layoutProject + "\nruntime: yaml\n" + body
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// layoutStack is one stack pulumi created with the KMS provider.
type layoutStack struct {
	p      *harness.Pulumi
	dir    string // where pulumi runs, and stacksync's -C
	name   string // the stack
	path   string // its settings file
	good   []byte // the settings file before the loss
	before []byte // the settings file after the loss
	// secret is the pre-loss config entry of demo:apikey (its key line and
	// its "secure:" line), encrypted with the stack's original data key.
	secret string
}

// layoutInit runs `pulumi stack init name --secrets-provider=<KMS>` and
// `pulumi config set --secret apikey s3cr3t` (initStackWithSecretAt, with
// no passphrase), and checks what pulumi wrote into the settings file at
// path.
func layoutInit(t *testing.T, p *harness.Pulumi, dir, name, path, providerURL string) *layoutStack {
	t.Helper()
	ls := &layoutStack{p: p, dir: dir, name: name, path: path}
	ls.good = initStackWithSecretAt(t, p, dir, name, path, providerURL, nil)
	if gp := settingsProvider(ls.good); gp.Type != "cloud" || gp.URL != providerURL || gp.EncryptedKey == "" {
		t.Fatalf("%s after init: provider %+v, want cloud %s:\n%s", path, gp, providerURL, ls.good)
	}
	ls.secret = layoutConfigEntry(ls.good, layoutProject+":apikey")
	if !strings.Contains(ls.secret, "secure: v1:") {
		t.Fatalf("%s has no secure demo:apikey entry:\n%s", path, ls.good)
	}
	return ls
}

// layoutLose is the CI loss (regenerateSettingsFile) of the stack's
// settings file; the config-only file pulumi regenerates is ls.before.
func layoutLose(t *testing.T, ls *layoutStack) {
	t.Helper()
	ls.before = regenerateSettingsFile(t, ls.p, ls.dir, ls.name, ls.path)
}

// layoutVerify checks a restored, previously config-only settings file:
// the provider is the one pulumi wrote at init, the config block is as
// pulumi regenerated it, and pulumi — with no passphrase anywhere — reads
// the pre-loss secret (its entry put back into the file, as a checkout of
// the config would), and sets and reads a new one.
func layoutVerify(t *testing.T, ls *layoutStack) {
	t.Helper()
	after := readFile(t, ls.path)
	gp, ap := settingsProvider(ls.good), settingsProvider(after)
	if ap != gp {
		t.Errorf("restored %s: provider %+v, want the pre-loss %+v:\n%s", ls.path, ap, gp, after)
	}
	if cfg := configBlock(after); cfg != string(ls.before) {
		t.Errorf("restored %s: config block changed:\n%q\nwant\n%q", ls.path, cfg, ls.before)
	}
	layoutAppend(t, ls.path, ls.secret)
	layoutGet(t, ls, "apikey", "s3cr3t")
	ls.p.MustRun(ls.dir, nil, "config", "set", "--stack", ls.name, "--secret", "x", "y")
	layoutGet(t, ls, "x", "y")
	layoutGet(t, ls, "test:value", "hello")
	if p := settingsProvider(readFile(t, ls.path)); p != gp {
		t.Errorf("after pulumi config set --secret the provider is %+v, want %+v", p, gp)
	}
}

// layoutGet runs `pulumi config get args...` with no passphrase and checks
// the value.
func layoutGet(t *testing.T, ls *layoutStack, key, want string, flags ...string) {
	t.Helper()
	args := append([]string{"config", "get", "--stack", ls.name}, flags...)
	o, e, err := ls.p.Run(ls.dir, nil, append(args, key)...)
	if err != nil {
		t.Errorf("pulumi %s %s: %v\n%s%s", strings.Join(args, " "), key, err, o, e)
		return
	}
	if got := strings.TrimSuffix(o, "\n"); got != want {
		t.Errorf("pulumi %s %s = %q, want %q", strings.Join(args, " "), key, got, want)
	}
}

// layoutConfigEntry returns the lines of the config entry key ("  key:"
// and the more deeply indented lines after it) of a settings file.
func layoutConfigEntry(b []byte, key string) string {
	var sb strings.Builder
	in := false
	for _, line := range strings.SplitAfter(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "  "+key+":"):
			in = true
		case in && !strings.HasPrefix(line, "    "):
			in = false
		}
		if in {
			sb.WriteString(line)
		}
	}
	return sb.String()
}

// layoutAppend appends text to the file at path (whose last section must be
// the config block).
func layoutAppend(t *testing.T, path, text string) {
	t.Helper()
	b := readFile(t, path)
	if !strings.HasSuffix(string(b), "\n") {
		b = append(b, '\n')
	}
	if err := os.WriteFile(path, append(b, text...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// layoutWithoutProvider returns the lines of a settings file other than
// the three top-level keys stacksync may write (isProviderLine).
func layoutWithoutProvider(b []byte) []string {
	var out []string
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if isProviderLine(line) {
			continue
		}
		out = append(out, line)
	}
	return out
}

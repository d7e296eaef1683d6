package integration

// Shared helpers for the end-to-end scenario tests (scenarios_*_test.go):
// real pulumi writes state into versitygw (with local-kms for awskms), the
// settings file is lost the way CI loses it, the built stacksync binary
// restores it, and real pulumi checks the result.

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/integration/harness"
)

// scenarioBucket is the bucket every scenario backend uses.
const scenarioBucket = "state"

// scenarioSecret is the secret config value the scenarios set and read back.
const (
	scenarioSecretKey   = "apikey"
	scenarioSecretValue = "s3cr3t"
)

// scenarioBackend is a versitygw gateway holding an empty bucket, a
// local-kms with the alias alias/pulumi_backend_software, and the built
// stacksync binary.
type scenarioBackend struct {
	S3     *harness.S3
	KMS    *harness.KMS
	Bin    string
	Bucket string
}

// newScenarioBackend starts versitygw and local-kms and builds stacksync.
func newScenarioBackend(t *testing.T) *scenarioBackend {
	t.Helper()
	b := &scenarioBackend{
		Bin:    harness.BuildStacksync(t),
		S3:     harness.StartS3(t),
		KMS:    harness.StartKMS(t),
		Bucket: scenarioBucket,
	}
	b.S3.CreateBucket(t, b.Bucket)
	return b
}

// URL is the pulumi backend URL of the bucket.
func (b *scenarioBackend) URL() string { return b.S3.BackendURL(b.Bucket, "") }

// newPulumi returns a pulumi runner at version that reaches local-kms and
// is logged in to the backend (each runner has its own PULUMI_HOME).
func (b *scenarioBackend) newPulumi(t *testing.T, version string, dir string) *harness.Pulumi {
	t.Helper()
	p := harness.NewPulumi(t, version)
	p.UseKMS(b.KMS)
	p.MustRun(dir, nil, "login", b.URL())
	return p
}

// stackKey is the key of a stack's live checkpoint in project mode, with
// ext "" (plain), ".gz" or ".zst".
func stackKey(project, stack, ext string) string {
	return ".pulumi/stacks/" + project + "/" + stack + ".json" + ext
}

// stackObjectKeys lists the keys under .pulumi/stacks/<project>/ that
// belong to stack (its checkpoint variants and their .bak copies; not
// its .pulumi-tags), with the directory prefix removed.
func (b *scenarioBackend) stackObjectKeys(t *testing.T, project, stack string) []string {
	t.Helper()
	dir := ".pulumi/stacks/" + project + "/"
	var out []string
	for _, k := range b.S3.ListKeys(t, b.Bucket, dir+stack+".json") {
		out = append(out, strings.TrimPrefix(k, dir))
	}
	return out
}

// liveCheckpoint returns the stack's live checkpoint as pulumi picks it
// (spec §1.6: of .json, .json.gz, .json.zst the later one wins; the
// scenarios never leave two of them with different ModTimes), decoded.
func (b *scenarioBackend) liveCheckpoint(t *testing.T, project, stack string) (key string, raw []byte, info checkpointInfo) {
	t.Helper()
	keys := b.stackObjectKeys(t, project, stack)
	for _, ext := range []string{".zst", ".gz", ""} {
		k := stackKey(project, stack, ext)
		if slices.Contains(keys, strings.TrimPrefix(k, ".pulumi/stacks/"+project+"/")) {
			raw = b.S3.GetObject(t, b.Bucket, k)
			return k, raw, decodeCheckpoint(t, raw)
		}
	}
	t.Fatalf("no live checkpoint of %s/%s in the bucket; keys: %q", project, stack, keys)
	return "", nil, checkpointInfo{}
}

// settingsPath is the settings file of stack in project dir dir.
func settingsPath(dir, stack string) string {
	return filepath.Join(dir, "Pulumi."+stack+".yaml")
}

// initStackWithSecret runs `pulumi stack init stack --secrets-provider=
// providerArg` and `pulumi config set --secret apikey s3cr3t` (both with
// env, e.g. PULUMI_CONFIG_PASSPHRASE), and returns the settings file pulumi
// wrote, Pulumi.<stack>.yaml in dir.
func initStackWithSecret(t *testing.T, p *harness.Pulumi, dir, stack, providerArg string, env []string) []byte {
	t.Helper()
	return initStackWithSecretAt(t, p, dir, stack, settingsPath(dir, stack), providerArg, env)
}

// initStackWithSecretAt is initStackWithSecret for a settings file that
// pulumi writes at path (e.g. under a stackConfigDir, or Pulumi.<stack>.yml
// next to a Pulumi.yml).
func initStackWithSecretAt(t *testing.T, p *harness.Pulumi, dir, stack, path, providerArg string, env []string) []byte {
	t.Helper()
	p.MustRun(dir, env, "stack", "init", stack, "--secrets-provider="+providerArg)
	p.MustRun(dir, env, "config", "set", "--secret", scenarioSecretKey, scenarioSecretValue)
	good := readFile(t, path)
	if !strings.Contains(string(good), "secure: ") {
		t.Fatalf("pulumi %s: settings file %s after config set --secret holds no secure value:\n%s", p.Version, path, good)
	}
	return good
}

// lostSettingsFile is what pulumi regenerates after the settings file was
// lost: `pulumi stack select` then `pulumi config set test:value hello`.
const lostSettingsFile = "config:\n  test:value: hello\n"

// regenerateSettingsFile is the CI loss of the settings file at path: it is
// deleted, the stack selected, and `pulumi config set test:value hello`
// (no passphrase in the environment) regenerates it, which must then hold
// only config: (lostSettingsFile). It returns the regenerated file.
func regenerateSettingsFile(t *testing.T, p *harness.Pulumi, dir, stack, path string) []byte {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	p.MustRun(dir, nil, "stack", "select", stack)
	p.MustRun(dir, nil, "config", "set", "test:value", "hello")
	regenerated := readFile(t, path)
	if string(regenerated) != lostSettingsFile {
		t.Fatalf("pulumi %s: regenerated settings file %s is not config-only:\n%s", p.Version, path, regenerated)
	}
	return regenerated
}

// loseSettingsFile is the CI loss (regenerateSettingsFile) of
// Pulumi.<stack>.yaml in dir. The config values of good (the file pulumi
// wrote at init, so the secure: ciphertext of apikey) are then put back
// into that config: block, as a settings file
// checked in with its config but without its provider fields would hold
// them: that ciphertext is what proves, after the restore, that the
// original data key or salt came back. It returns the file after the loss.
func loseSettingsFile(t *testing.T, p *harness.Pulumi, dir, stack string, good []byte) []byte {
	t.Helper()
	path := settingsPath(dir, stack)
	regenerateSettingsFile(t, p, dir, stack, path)
	cfg := configBlock(good)
	if !strings.HasPrefix(cfg, "config:\n") || !strings.Contains(cfg, "secure: ") || strings.Contains(cfg, "test:value") {
		t.Fatalf("settings file pulumi wrote at init has no config: block with a secure value:\n%s", good)
	}
	// Keys sort as pulumi writes them: <project>:apikey < test:value.
	lost := []byte(cfg + "  test:value: hello\n")
	if err := os.WriteFile(path, lost, 0o644); err != nil {
		t.Fatal(err)
	}
	return lost
}

// assertPassphraseRequired checks what the user sees before the restore:
// `pulumi config set --secret x y` and `pulumi config get apikey` with no
// passphrase in the environment fail with the passphrase error and leave
// the settings file alone.
func assertPassphraseRequired(t *testing.T, p *harness.Pulumi, dir, stack string) {
	t.Helper()
	path := settingsPath(dir, stack)
	before := readFile(t, path)
	_, e, err := p.Run(dir, nil, "config", "set", "--secret", "x", "y")
	if err == nil || !strings.Contains(e, passphraseError) {
		t.Fatalf("pulumi %s config set --secret before restore: err %v, want the passphrase error; stderr:\n%s", p.Version, err, e)
	}
	_, e, err = p.Run(dir, nil, "config", "get", scenarioSecretKey)
	if err == nil || !strings.Contains(e, passphraseError) {
		t.Fatalf("pulumi %s config get %s before restore: err %v, want the passphrase error; stderr:\n%s", p.Version, scenarioSecretKey, err, e)
	}
	if got := readFile(t, path); !bytes.Equal(got, before) {
		t.Fatalf("the failing config commands changed the settings file:\n%s", got)
	}
}

// mustStacksync runs the stacksync binary bin with env and args, fails the
// test unless it exits 0, and returns stdout.
func mustStacksync(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	o, e, code := runStacksync(t, bin, env, args...)
	if code != 0 {
		t.Fatalf("stacksync %s: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, o, e)
	}
	t.Logf("stacksync %s:\n%s%s", strings.Join(args, " "), o, e)
	return o
}

// restoreThroughProxy runs `stacksync restore -C dir --backend <url> stack`
// with the gateway's credentials, url being s3://bucket/prefix reached
// through a fresh recording proxy; it requires exit 0 and at least one
// request, none other than GET/HEAD, and returns the proxy and stdout.
func restoreThroughProxy(t *testing.T, bin string, s3 *harness.S3, bucket, prefix, dir, stack string) (*harness.RecordingProxy, string) {
	t.Helper()
	proxy := harness.StartRecordingProxy(t, s3.Endpoint)
	backend := harness.S3BackendURL(proxy.HostPort, harness.Region, bucket, prefix)
	o := mustStacksync(t, bin, stacksyncEnv(t, s3.Env()...), "restore", "-C", dir, "--backend", backend, stack)
	assertOnlyGetHead(t, proxy, true)
	return proxy, o
}

// restoreStack is restoreThroughProxy of the backend's bucket that also
// requires a stdout line "<stack>: updated Pulumi.<stack>.yaml (<describe>)"
// (describe names the provider, e.g. "awskms alias/pulumi_backend_software"
// or "passphrase"). It returns stdout.
func (b *scenarioBackend) restoreStack(t *testing.T, dir, stack, describe string) string {
	t.Helper()
	_, o := restoreThroughProxy(t, b.Bin, b.S3, b.Bucket, "", dir, stack)
	want := stack + ": updated Pulumi." + stack + ".yaml (" + describe + ")"
	if !slices.Contains(strings.Split(strings.TrimSuffix(o, "\n"), "\n"), want) {
		t.Errorf("stacksync restore stdout:\n%s\nwant the line:\n%s", o, want)
	}
	return o
}

// isProviderLine reports whether line of a settings file holds one of the
// three top-level keys that name the secrets provider (the keys stacksync
// may write): secretsprovider, encryptedkey or encryptionsalt.
func isProviderLine(line string) bool {
	for _, k := range []string{"secretsprovider:", "encryptedkey:", "encryptionsalt:"} {
		if strings.HasPrefix(line, k) {
			return true
		}
	}
	return false
}

// providerLines returns the secretsprovider, encryptedkey and
// encryptionsalt lines of a settings file pulumi wrote, in file order.
func providerLines(b []byte) string {
	var sb strings.Builder
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if isProviderLine(line) {
			sb.WriteString(line)
		}
	}
	return sb.String()
}

// assertRestoredFile checks the restored settings file: exactly the
// provider lines pulumi wrote at init (so the values are byte for byte
// pulumi's, and in pulumi's place), followed by the lost file unchanged.
func assertRestoredFile(t *testing.T, path string, good, lost []byte) []byte {
	t.Helper()
	after := readFile(t, path)
	want := providerLines(good) + string(lost)
	if string(after) != want {
		t.Errorf("restored settings file:\n%s\nwant (the provider lines pulumi wrote at init, then the lost file):\n%s", after, want)
	}
	return after
}

// settingsField returns the value of a top-level scalar key of a settings
// file, unquoting a single- or double-quoted YAML scalar.
func settingsField(b []byte, key string) (string, bool) {
	for _, line := range strings.Split(string(b), "\n") {
		v, ok := strings.CutPrefix(line, key+":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch {
		case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"':
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			}
		case len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'':
			v = strings.ReplaceAll(v[1:len(v)-1], "''", "'")
		}
		return v, true
	}
	return "", false
}

// assertConfigGet checks that `pulumi config get key` (with env) prints want.
func assertConfigGet(t *testing.T, p *harness.Pulumi, dir string, env []string, key, want string) {
	t.Helper()
	if got := strings.TrimSpace(p.MustRun(dir, env, "config", "get", key)); got != want {
		t.Errorf("pulumi %s config get %s = %q, want %q", p.Version, key, got, want)
	}
}

// assertSecretsWork checks that pulumi uses the restored provider: with env
// (nil for KMS: no passphrase) it decrypts the original secret, sets a new
// one and reads it back, and leaves the provider fields as they were.
func assertSecretsWork(t *testing.T, p *harness.Pulumi, dir, stack string, env []string, newKey string) {
	t.Helper()
	path := settingsPath(dir, stack)
	before := providerLines(readFile(t, path))
	assertConfigGet(t, p, dir, env, scenarioSecretKey, scenarioSecretValue)
	p.MustRun(dir, env, "config", "set", "--secret", newKey, "y")
	assertConfigGet(t, p, dir, env, newKey, "y")
	if now := providerLines(readFile(t, path)); now != before {
		t.Errorf("pulumi %s config set --secret changed the provider fields:\n%s\nwas:\n%s", p.Version, now, before)
	}
}

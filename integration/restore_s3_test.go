package integration

import (
	"bytes"
	"cmp"
	"context"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stacksync/stacksync/integration/harness"
)

// seedStack is the stack the restore tests repair.
const seedStack = "dev.my-service.us-west-2"

// passphraseError is what pulumi prints when it falls back to a passphrase
// that is not set.
const passphraseError = "passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables"

// seeded is an S3 backend holding one awskms stack, and a project dir whose
// settings file pulumi regenerated holding only config: (the CI loss).
type seeded struct {
	s      *harness.S3
	k      *harness.KMS
	p      *harness.Pulumi
	dir    string
	path   string // the settings file
	good   []byte // the settings file before the loss
	before []byte // the settings file after the loss
}

// seedS3 runs the scenario of the README with the real pulumi: stack init
// with awskms, a secret config value, then the settings file is lost and
// pulumi regenerates it with `config set`.
func seedS3(t testing.TB) *seeded {
	t.Helper()
	sd := &seeded{s: harness.StartS3(t), k: harness.StartKMS(t)}
	sd.s.CreateBucket(t, "state")
	sd.p = harness.NewPulumi(t, harness.PulumiVersion)
	sd.p.UseKMS(sd.k)
	sd.dir = harness.NewYAMLProject(t, "demo", "")
	sd.path = filepath.Join(sd.dir, "Pulumi."+seedStack+".yaml")
	providerURL := "awskms://alias/pulumi_backend_software?region=us-east-1"
	if got := sd.p.SecretsProviderURL(sd.k); got != providerURL {
		t.Fatalf("harness provider URL %s, want %s", got, providerURL)
	}

	sd.p.MustRun(sd.dir, nil, "login", sd.s.BackendURL("state", ""))
	sd.p.MustRun(sd.dir, nil, "stack", "init", seedStack, "--secrets-provider="+providerURL)
	sd.p.MustRun(sd.dir, nil, "config", "set", "--secret", "apikey", "s3cr3t")
	sd.good = readFile(t, sd.path)
	if gp := settingsProvider(sd.good); gp.Type != "cloud" || gp.URL != providerURL || gp.EncryptedKey == "" {
		t.Fatalf("settings file after init: %+v\n%s", gp, sd.good)
	}

	// The loss.
	if err := os.Remove(sd.path); err != nil {
		t.Fatal(err)
	}
	sd.p.MustRun(sd.dir, nil, "stack", "select", seedStack)
	sd.p.MustRun(sd.dir, nil, "config", "set", "test:value", "hello")
	sd.before = readFile(t, sd.path)
	if string(sd.before) != "config:\n  test:value: hello\n" {
		t.Fatalf("regenerated settings file is not config-only:\n%s", sd.before)
	}
	return sd
}

// TestRestoreS3 restores the settings file of a stack pulumi created in
// versitygw, with the real pulumi checking the result, and runs the bad
// inputs that must fail cleanly.
func TestRestoreS3(t *testing.T) {
	bin := harness.BuildStacksync(t)
	sd := seedS3(t)

	// What the user sees before the restore.
	_, e, err := sd.p.Run(sd.dir, nil, "config", "set", "--secret", "x", "y")
	if err == nil || !strings.Contains(e, passphraseError) {
		t.Fatalf("pulumi config set --secret before restore: err %v, stderr:\n%s", err, e)
	}
	if got := readFile(t, sd.path); !bytes.Equal(got, sd.before) {
		t.Fatalf("the failing config set changed the file:\n%s", got)
	}

	proxy := harness.StartRecordingProxy(t, sd.s.Endpoint)
	proxyURL := harness.S3BackendURL(proxy.HostPort, harness.Region, "state", "")
	s3env := stacksyncEnv(t, sd.s.Env()...)

	// On a remote S3 the round trips are the cost: the four requests of a
	// restore must be in flight together. A 100 ms delay on every request
	// makes requests sent together overlap, and ones sent in turn not.
	t.Run("one-round-trip", func(t *testing.T) {
		slow := harness.StartRecordingProxy(t, sd.s.Endpoint)
		slow.Delay = 100 * time.Millisecond
		o, e, code := runStacksync(t, bin, s3env, "restore", "--dry-run", "-C", sd.dir, "--backend", harness.S3BackendURL(slow.HostPort, harness.Region, "state", ""), seedStack)
		if code != 0 {
			t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, o, e)
		}
		reqs := slow.Requests()
		for _, r := range reqs {
			t.Logf("%s +%v..+%v", r, r.Start.Sub(reqs[0].Start).Round(time.Millisecond), r.End.Sub(reqs[0].Start).Round(time.Millisecond))
		}
		if len(reqs) != 4 {
			t.Errorf("%d requests, want 4 (meta.yaml, variants, checkpoint, locks)", len(reqs))
		}
		if n := slow.MaxInFlight(); n != len(reqs) {
			t.Errorf("at most %d of %d requests in flight together, want all in one round", n, len(reqs))
		}
		if got := readFile(t, sd.path); !bytes.Equal(got, sd.before) {
			t.Fatalf("--dry-run changed the file:\n%s", got)
		}
	})

	t.Run("restore", func(t *testing.T) {
		proxy.Reset()
		o, e, code := runStacksync(t, bin, s3env, "restore", "-C", sd.dir, "--backend", proxyURL, seedStack)
		if code != 0 {
			t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, o, e)
		}
		if !strings.Contains(o, seedStack+": updated") {
			t.Errorf("stdout does not report the update:\n%s", o)
		}
		after := readFile(t, sd.path)
		gp, ap := settingsProvider(sd.good), settingsProvider(after)
		if ap.URL != gp.URL || ap.EncryptedKey != gp.EncryptedKey || ap.Salt != "" {
			t.Errorf("restored provider %+v, want the one pulumi wrote at init %+v", ap, gp)
		}
		if cfg := configBlock(after); cfg != string(sd.before) {
			t.Errorf("config block changed:\n%q\nwant\n%q", cfg, sd.before)
		}
		want := "secretsprovider: " + gp.URL + "\nencryptedkey: " + gp.EncryptedKey + "\n" + string(sd.before)
		if string(after) != want {
			t.Errorf("restored file:\n%s\nwant (pulumi's field order):\n%s", after, want)
		}
		assertOnlyGetHead(t, proxy, true)
		t.Logf("requests: %v", proxy.Requests())

		// Pulumi now uses the stack's KMS provider again, with no passphrase.
		sd.p.MustRun(sd.dir, nil, "config", "set", "--secret", "x", "y")
		if got := strings.TrimSpace(sd.p.MustRun(sd.dir, nil, "config", "get", "test:value")); got != "hello" {
			t.Errorf("pulumi config get test:value = %q, want hello", got)
		}
		if got := strings.TrimSpace(sd.p.MustRun(sd.dir, nil, "config", "get", "x")); got != "y" {
			t.Errorf("pulumi config get x = %q, want y", got)
		}
		if p := settingsProvider(readFile(t, sd.path)); p != gp {
			t.Errorf("after pulumi config set --secret the provider is %+v, want %+v", p, gp)
		}
	})

	t.Run("up-to-date-endpoint-from-env", func(t *testing.T) {
		proxy.Reset()
		snap := snapshot(t, sd.dir)
		env := stacksyncEnv(t, append(sd.s.Env(), "AWS_ENDPOINT_URL_S3="+proxy.URL)...)
		o, e, code := runStacksync(t, bin, env, "restore", "-C", sd.dir, "--backend", "s3://state?s3ForcePathStyle=true", seedStack)
		if code != 0 {
			t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, o, e)
		}
		if !strings.Contains(o, "up to date") {
			t.Errorf("stdout does not say up to date:\n%s", o)
		}
		snap.assertSame(t, snapshot(t, sd.dir))
		assertOnlyGetHead(t, proxy, true)
	})

	// Each bad input: exit 1, one line on stderr, nothing on disk changed.
	bad := []struct {
		name    string
		env     []string
		backend string
		stack   string
		want    []string // substrings of stderr (any case); each entry may list alternatives with |
		code    int      // the exit code; 0 means 1
	}{{
		name:    "no-such-bucket",
		env:     sd.s.Env(),
		backend: harness.S3BackendURL(proxy.HostPort, harness.Region, "no-such-bucket", ""),
		stack:   seedStack,
		want:    []string{"no-such-bucket"},
	}, {
		name: "wrong-credentials",
		env: []string{
			"AWS_ACCESS_KEY_ID=" + harness.AccessKey, "AWS_SECRET_ACCESS_KEY=not-the-secret",
			"AWS_REGION=" + harness.Region, "AWS_EC2_METADATA_DISABLED=true",
		},
		backend: proxyURL,
		stack:   seedStack,
		want:    []string{"denied|forbidden|403|signature|credential"},
	}, {
		name:    "no-credentials",
		env:     []string{"AWS_REGION=" + harness.Region, "AWS_EC2_METADATA_DISABLED=true"},
		backend: proxyURL,
		stack:   seedStack,
		want:    []string{"credential"},
	}, {
		name:    "missing-stack",
		env:     sd.s.Env(),
		backend: proxyURL,
		stack:   "prod",
		want:    []string{"prod", seedStack},
		code:    5, // not in the backend: its own exit code
	}}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			proxy.Reset()
			snap := snapshot(t, sd.dir)
			o, e, code := runStacksync(t, bin, stacksyncEnv(t, tc.env...), "restore", "-C", sd.dir, "--backend", tc.backend, tc.stack)
			t.Logf("stderr: %s", e)
			if want := cmp.Or(tc.code, 1); code != want {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, want, o, e)
			}
			if line := strings.TrimSuffix(e, "\n"); line == "" || strings.Contains(line, "\n") {
				t.Errorf("stderr is not one line:\n%s", e)
			}
			for _, w := range tc.want {
				if !containsAnyFold(e, strings.Split(w, "|")) {
					t.Errorf("stderr lacks %q:\n%s", w, e)
				}
			}
			snap.assertSame(t, snapshot(t, sd.dir))
			assertOnlyGetHead(t, proxy, false)
		})
	}
}

// BenchmarkRestoreS3 times one `stacksync restore` process against
// versitygw on loopback (no proxy), with the settings file already up to
// date and with it missing. Besides ns/op it reports the median wall time
// of the runs; for 20 runs:
//
//	go test -run '^$' -bench RestoreS3 -benchtime 20x ./...
func BenchmarkRestoreS3(b *testing.B) {
	bin := harness.BuildStacksync(b)
	sd := seedS3(b)
	env := stacksyncEnv(b, sd.s.Env()...)
	backend := sd.s.BackendURL("state", "")
	restore := func(b *testing.B) time.Duration {
		start := time.Now()
		o, e, code := runStacksync(b, bin, env, "restore", "-C", sd.dir, "--backend", backend, seedStack)
		d := time.Since(start)
		if code != 0 {
			b.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, o, e)
		}
		return d
	}
	restore(b) // the file is now up to date

	for _, bc := range []struct {
		name    string
		missing bool
	}{{"up-to-date", false}, {"missing", true}} {
		b.Run(bc.name, func(b *testing.B) {
			var runs []time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if bc.missing {
					b.StopTimer()
					if err := os.Remove(sd.path); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				runs = append(runs, restore(b))
			}
			b.StopTimer()
			med := sortedMedian(runs)
			b.ReportMetric(float64(med.Nanoseconds())/1e6, "ms-median")
			b.Logf("%d runs: median %v, min %v, max %v", len(runs), med, runs[0], runs[len(runs)-1])
		})
	}
}

// stacksyncEnv is stacksync's whole environment: nothing of the outer
// environment (AWS_PROFILE, ~/.aws, PULUMI_BACKEND_URL, …) leaks in. It has
// a fresh HOME, no AWS config files, no instance metadata, and extra.
func stacksyncEnv(t testing.TB, extra ...string) []string {
	t.Helper()
	home := t.TempDir()
	env := []string{
		"HOME=" + home,
		"PULUMI_HOME=" + filepath.Join(home, ".pulumi"),
		"AWS_CONFIG_FILE=" + filepath.Join(home, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "no-aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"GCE_METADATA_HOST=" + harness.ClosedMetadataHost,
		"GCE_METADATA_IP=" + harness.ClosedMetadataHost,
		"IDENTITY_ENDPOINT=http://" + harness.ClosedMetadataHost + "/metadata/identity/oauth2/token",
		"IMDS_ENDPOINT=http://" + harness.ClosedMetadataHost,
	}
	if tmp := os.Getenv("TMPDIR"); tmp != "" {
		env = append(env, "TMPDIR="+tmp)
	}
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		kept := env[:0]
		for _, old := range env {
			if !strings.HasPrefix(old, k+"=") {
				kept = append(kept, old)
			}
		}
		env = append(kept, kv)
	}
	return env
}

// runStacksync runs the stacksync binary with exactly env and checks that
// stderr carries no AWS SDK warnings.
func runStacksync(t testing.TB, bin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("stacksync %s: timed out: %v", strings.Join(args, " "), err)
	}
	code = 0
	if err != nil {
		if code = harness.ExitCode(err); code < 0 {
			t.Fatalf("stacksync %s: %v", strings.Join(args, " "), err)
		}
	}
	for _, bad := range []string{"WARN", "Response has no supported checksum"} {
		if strings.Contains(e.String(), bad) {
			t.Errorf("stacksync %s: stderr contains %q:\n%s", strings.Join(args, " "), bad, e.String())
		}
	}
	return o.String(), e.String(), code
}

// assertOnlyGetHead fails on any request other than GET and HEAD; with
// some, it also fails when the proxy saw nothing.
func assertOnlyGetHead(t *testing.T, p *harness.RecordingProxy, some bool) {
	t.Helper()
	if some {
		p.AssertReadOnly(t)
		return
	}
	for _, r := range p.Requests() {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			t.Errorf("stacksync sent %s", r)
		}
	}
}

// configBlock returns the "config:" line of a settings file and everything
// after it.
func configBlock(b []byte) string {
	s := string(b)
	if strings.HasPrefix(s, "config:") {
		return s
	}
	if i := strings.Index(s, "\nconfig:"); i >= 0 {
		return s[i+1:]
	}
	return ""
}

func containsAnyFold(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(strings.ToLower(s), strings.ToLower(sub)) {
			return true
		}
	}
	return false
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dirSnapshot is every file below a directory: content, mode and mtime.
type dirSnapshot map[string]string

func snapshot(t *testing.T, dir string) dirSnapshot {
	t.Helper()
	snap := dirSnapshot{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		v := fi.Mode().String() + " " + fi.ModTime().Format(time.RFC3339Nano)
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += "\n" + string(b)
		}
		snap[rel] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func (s dirSnapshot) assertSame(t *testing.T, now dirSnapshot) {
	t.Helper()
	for k, v := range s {
		if w, ok := now[k]; !ok {
			t.Errorf("%s was removed", k)
		} else if w != v {
			t.Errorf("%s changed:\n%s\nnow:\n%s", k, v, w)
		}
	}
	for k := range now {
		if _, ok := s[k]; !ok {
			t.Errorf("%s was created", k)
		}
	}
}

// sortedMedian sorts runs and returns their median; runs[0] and
// runs[len(runs)-1] are then the fastest and slowest.
func sortedMedian(runs []time.Duration) time.Duration {
	sort.Slice(runs, func(i, j int) bool { return runs[i] < runs[j] })
	med := runs[len(runs)/2]
	if len(runs)%2 == 0 {
		med = (runs[len(runs)/2-1] + runs[len(runs)/2]) / 2
	}
	return med
}

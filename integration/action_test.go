package integration

// The composite action (action.yml) run by a real Actions runner: nektos/act
// runs integration/testdata/action/deploy.yml (the investigation's deploy
// workflow with the action as its pre-step) on this host, against versitygw
// and local-kms, and installs the release that make dist built from a
// 127.0.0.1 server.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stacksync/stacksync/integration/harness"
)

// actionStack is the stack the workflow deploys, named as the
// investigation's stacks are.
const actionStack = "dev.my-service.us-west-2"

// actionProgram is the Pulumi.yaml of the workflow's project: no
// resources, one output that shows the deployment ran.
const actionProgram = "outputs:\n  greeting: deployed-by-act\n"

// actionWorkflows is where a checkout holds its workflows.
const actionWorkflows = ".github/workflows"

// actionWorkflow is the deploy workflow file, relative to the checkout.
const actionWorkflow = actionWorkflows + "/deploy.yml"

// actionFixture is a versitygw bucket holding an awskms stack that pulumi
// created (never deployed), a checkout for the workflow, and a pulumi
// runner whose environment the workflow's steps get.
type actionFixture struct {
	S3          *harness.S3
	KMS         *harness.KMS
	P           *harness.Pulumi
	Backend     string
	ProviderURL string
	Good        []byte // the settings file pulumi wrote at init
	Lost        []byte // the settings file the checkout holds
	Checkout    string // action.yml, scripts/action.sh, the workflow, devops/ with Pulumi.yaml and Lost
}

// newActionFixture seeds the stack with the real pulumi, then lays out the
// checkout: the repository's action.yml and the test workflow, and the
// project in devops/ with its settings file as CI has it after the loss
// (config only: the secure value of apikey, no secretsprovider or
// encryptedkey).
func newActionFixture(t *testing.T) *actionFixture {
	t.Helper()
	f := &actionFixture{S3: harness.StartS3(t), KMS: harness.StartKMS(t)}
	f.S3.CreateBucket(t, scenarioBucket)
	f.Backend = f.S3.BackendURL(scenarioBucket, "")
	f.ProviderURL = f.KMS.SecretsProviderURL(false)

	seed := harness.NewYAMLProject(t, scenarioProject, actionProgram)
	f.P = harness.NewPulumi(t, harness.PulumiVersion)
	f.P.UseKMS(f.KMS)
	f.P.MustRun(seed, nil, "login", f.Backend)
	f.Good = initStackWithSecret(t, f.P, seed, actionStack, f.ProviderURL, nil)
	f.Lost = []byte(configBlock(f.Good))
	if !strings.Contains(string(f.Lost), "secure: ") {
		t.Fatalf("settings file pulumi wrote at init has no secure config value:\n%s", f.Good)
	}

	f.Checkout = actionCheckout(t, "deploy.yml")
	copyFile(t, filepath.Join(seed, "Pulumi.yaml"), filepath.Join(f.Checkout, "devops", "Pulumi.yaml"))
	if err := os.WriteFile(filepath.Join(f.Checkout, "devops", "Pulumi."+actionStack+".yaml"), f.Lost, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// actionCheckout returns a new checkout of the action: the repository's
// action.yml and the script its steps run, and the workflow
// integration/testdata/action/<workflow> in actionWorkflows.
func actionCheckout(t *testing.T, workflow string) string {
	t.Helper()
	root, err := harness.MainModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, rel := range []string{"action.yml", filepath.Join("scripts", "action.sh")} {
		copyFile(t, filepath.Join(root, rel), filepath.Join(dir, rel))
	}
	copyFile(t, filepath.Join(root, "integration", "testdata", "action", workflow), filepath.Join(dir, actionWorkflows, workflow))
	return dir
}

// run runs the workflow for stack with act, installing distVersion from releases (a
// URL serving make dist's output). The steps get the pulumi runner's
// environment (PATH with pulumi and pulumi-language-yaml, the gateway's
// AWS keys, local-kms, a PULUMI_HOME of their own) and no passphrase. The
// last step copies the settings file and the action's result output into
// out. It returns act's output and exit code.
func (f *actionFixture) run(t *testing.T, stack, releases, out string) (string, int) {
	t.Helper()
	env := f.P.Env()
	for _, kv := range env {
		if strings.HasPrefix(kv, "PULUMI_CONFIG_PASSPHRASE") {
			t.Fatalf("the workflow's environment holds %s", kv)
		}
	}
	env = append(env,
		"PULUMI_HOME="+t.TempDir(), // not logged in: PULUMI_BACKEND_URL decides
		"STACKSYNC_E2E_CHECKOUT="+f.Checkout,
		"STACKSYNC_E2E_OUT="+out,
	)
	log, code := harness.RunAct(t, harness.ActRun{
		Dir:      f.Checkout,
		Workflow: actionWorkflow,
		Env:      mergeEnvList(env),
		Vars: map[string]string{
			"STACKSYNC_VERSION":  distVersion,
			"STACKSYNC_RELEASES": releases,
			"PULUMI_BACKEND_URL": f.Backend,
			"STACK":              stack,
			"SECRETS_PROVIDER":   f.ProviderURL,
		},
	})
	t.Logf("act exited %d", code)
	return log, code
}

// TestActionDeployWorkflow: the action, in the investigation's workflow
// run by act, installs the release, verifies it against SHA256SUMS and
// restores the settings file; the later steps (stack select, config set
// --secret, pulumi up) then run with no passphrase, and the stack's
// checkpoint still records the KMS provider. With an archive that does not
// match SHA256SUMS the action's step fails and no later step runs.
func TestActionDeployWorkflow(t *testing.T) {
	f := newActionFixture(t)
	dist := harness.Dist(t, distVersion)
	linux := distTarget{"linux", "amd64"}.asset(distVersion)

	t.Run("tampered", func(t *testing.T) {
		tampered := t.TempDir()
		copyTree(t, dist, tampered)
		path := filepath.Join(tampered, distVersion, linux)
		if err := os.WriteFile(path, tamperArchive(t, readFile(t, path)), 0o644); err != nil {
			t.Fatal(err)
		}
		srv := harness.ServeDir(t, tampered)
		out := t.TempDir()
		log, code := f.run(t, actionStack, srv.URL, out)
		if code == 0 {
			t.Fatalf("act exited 0 with a tampered %s; output:\n%s", linux, log)
		}
		if !strings.Contains(log, "checksum mismatch for "+linux) {
			t.Errorf("act output lacks the action's checksum mismatch error for %s:\n%s", linux, log)
		}
		for _, step := range []string{"stacksync restore", "Select or create the stack", "Deploy"} {
			if strings.Contains(log, "Run Main "+step) || strings.Contains(log, "Run "+step) {
				t.Errorf("step %q ran after the failed install:\n%s", step, log)
			}
		}
		assertDownloads(t, srv, linux)
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("the workflow's last step ran after the failed install: %s holds %v", out, entries)
		}
		if _, raw, _ := liveCheckpointOf(t, f.S3, actionStack); bytes.Contains(raw, []byte("deployed-by-act")) {
			t.Errorf("the stack was deployed after the failed install")
		}
	})
	if t.Failed() {
		return
	}

	t.Run("deploy", func(t *testing.T) {
		srv := harness.ServeDir(t, dist)
		out := t.TempDir()
		log, code := f.run(t, actionStack, srv.URL, out)
		if code != 0 {
			t.Fatalf("act exited %d; output:\n%s", code, log)
		}
		t.Logf("act output:\n%s", log)
		assertDownloads(t, srv, linux)
		if strings.Contains(log, passphraseError) {
			t.Errorf("a step hit the passphrase error:\n%s", log)
		}

		// The action's output: restore -o json's array, one stack updated.
		results := actionResult(t, out)
		if len(results) != 1 || results[0].Stack != actionStack || results[0].Action != "updated" ||
			!results[0].Written || results[0].SecretsProvider != f.ProviderURL ||
			filepath.Base(results[0].File) != "Pulumi."+actionStack+".yaml" {
			t.Errorf("output result = %+v, want %s updated and written with %s", results, actionStack, f.ProviderURL)
		}

		// The settings file after the whole job: the provider lines pulumi
		// wrote at init, the original secure apikey, and the secret the
		// workflow set.
		got := readFile(t, filepath.Join(out, "settings.yaml"))
		if !strings.HasPrefix(string(got), providerLines(f.Good)+string(f.Lost)) {
			t.Errorf("settings file after the job:\n%s\nwant it to start with pulumi's provider lines and the checked-in file:\n%s%s", got, providerLines(f.Good), f.Lost)
		}
		if !strings.Contains(string(got), scenarioProject+":deployedBy:\n    secure: ") {
			t.Errorf("settings file after the job lacks the secret the workflow set:\n%s", got)
		}

		// pulumi up wrote the checkpoint with the KMS provider: it did not
		// fall back to a passphrase and re-encrypt the stack.
		_, ckpt, info := liveCheckpointOf(t, f.S3, actionStack)
		if !bytes.Contains(ckpt, []byte("deployed-by-act")) {
			t.Errorf("the live checkpoint lacks the program's output: pulumi up did not deploy")
		}
		if gp := settingsProvider(f.Good); info.P.Type != "cloud" || info.P.URL != f.ProviderURL || info.P.EncryptedKey != gp.EncryptedKey {
			t.Errorf("checkpoint secrets_providers after pulumi up = %+v, want cloud %s with the init data key", info.P, f.ProviderURL)
		}
	})

	// The first deployment: the stack is not in the backend yet. With
	// missing-ok the action notes it and writes nothing, and the
	// workflow's `pulumi stack init --secrets-provider` creates it.
	t.Run("first-deployment", func(t *testing.T) {
		const stack = "dev.new-service.us-west-2"
		srv := harness.ServeDir(t, dist)
		out := t.TempDir()
		log, code := f.run(t, stack, srv.URL, out)
		if code != 0 {
			t.Fatalf("act exited %d; output:\n%s", code, log)
		}
		results := actionResult(t, out)
		if len(results) != 1 || results[0].Stack != stack || results[0].Action != "missing" || results[0].Written {
			t.Errorf("output result = %+v, want %s missing and not written", results, stack)
		}
		got := readFile(t, filepath.Join(out, "settings.yaml"))
		if sp, _ := settingsField(got, "secretsprovider"); sp != f.ProviderURL {
			t.Errorf("settings file after the first deployment has secretsprovider %q, want %s:\n%s", sp, f.ProviderURL, got)
		}
		_, ckpt, info := liveCheckpointOf(t, f.S3, stack)
		if !bytes.Contains(ckpt, []byte("deployed-by-act")) || info.P.Type != "cloud" || info.P.URL != f.ProviderURL {
			t.Errorf("checkpoint of %s after the first deployment: provider %+v, deployed %v; want cloud %s, deployed",
				stack, info.P, bytes.Contains(ckpt, []byte("deployed-by-act")), f.ProviderURL)
		}
	})
}

// actionResultRow is the part of a restore -o json object the tests read.
type actionResultRow struct {
	Stack, Action, File, SecretsProvider string
	Written                              bool
}

// actionResult parses the action's result output, which the workflow's
// last step wrote into out.
func actionResult(t *testing.T, out string) []actionResultRow {
	t.Helper()
	var results []actionResultRow
	raw := readFile(t, filepath.Join(out, "result.json"))
	if err := json.Unmarshal(raw, &results); err != nil {
		t.Fatalf("output result is not restore -o json's array: %v\n%s", err, raw)
	}
	return results
}

// assertDownloads checks that the action fetched SHA256SUMS and asset of
// distVersion from srv, and nothing outside that release.
func assertDownloads(t *testing.T, srv *harness.FileServer, asset string) {
	t.Helper()
	reqs := srv.Requests()
	for _, want := range []string{"GET /" + distVersion + "/SHA256SUMS", "GET /" + distVersion + "/" + asset} {
		if !slices.Contains(reqs, want) {
			t.Errorf("release server requests %q lack %q", reqs, want)
		}
	}
	for _, r := range reqs {
		if !strings.HasPrefix(r, "GET /"+distVersion+"/") {
			t.Errorf("release server got %q, outside release %s", r, distVersion)
		}
	}
}

// liveCheckpointOf returns the plain live checkpoint of a demo stack.
func liveCheckpointOf(t *testing.T, s3 *harness.S3, stack string) (string, []byte, checkpointInfo) {
	t.Helper()
	b := &scenarioBackend{S3: s3, Bucket: scenarioBucket}
	return b.liveCheckpoint(t, scenarioProject, stack)
}

// tamperArchive returns a .tar.gz release archive whose binary has one
// byte appended: still a valid archive of a runnable binary, but not the
// one SHA256SUMS lists.
func tamperArchive(t *testing.T, archive []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		body = append(body, 0)
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// copyFile copies src to dst, creating dst's directory.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	writeFile(t, dst, readFile(t, src))
}

// mergeEnvList keeps the last "K=V" of each K.
func mergeEnvList(env []string) []string {
	seen := map[string]int{}
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := seen[k]; ok {
			out[i] = kv
			continue
		}
		seen[k] = len(out)
		out = append(out, kv)
	}
	return out
}

// actionHungBound is how long the action's install step takes to give up
// on a mirror that accepts and never answers: scripts/action.sh's three
// curl attempts of 15 s under 1 KiB/s each, and 1 s and 2 s between them.
const actionHungBound = 3*15*time.Second + 3*time.Second

// actionSmuggled starts a workflow command smuggled into an input or an
// output. act logs an ::error it executes as "❗  <line>", so a log line
// holding actionExecuted+actionSmuggled means an injection took effect.
const (
	actionSmuggled = "::error title=smuggled::"
	actionExecuted = "\u2757  "
)

// actionInputsRun is what one run of the inputs workflow gave.
type actionInputsRun struct {
	log    string
	code   int
	took   time.Duration
	result string   // the action's result output
	args   []string // the stand-in stacksync's arguments; nil if it did not run
}

// runActionInputs runs testdata/action/inputs.yml with act in a checkout
// of its own, with vars as its repository variables (VERSION, RELEASES,
// MISSING_OK, ARGS), and fails the test if act outlives timeout.
func runActionInputs(t *testing.T, vars map[string]string, timeout time.Duration) actionInputsRun {
	t.Helper()
	checkout := actionCheckout(t, "inputs.yml")
	out := t.TempDir()
	for _, k := range []string{"VERSION", "RELEASES", "MISSING_OK", "ARGS"} {
		if _, ok := vars[k]; !ok {
			vars[k] = "" // --var K alone would make act prompt for it
		}
	}
	start := time.Now()
	log, code := harness.RunAct(t, harness.ActRun{
		Dir:      checkout,
		Workflow: actionWorkflows + "/inputs.yml",
		Env: []string{
			"PATH=" + os.Getenv("PATH"),
			"HOME=" + t.TempDir(),
			"STACKSYNC_E2E_CHECKOUT=" + checkout,
			"STACKSYNC_E2E_OUT=" + out,
		},
		Vars:    vars,
		Timeout: timeout,
	})
	r := actionInputsRun{log: log, code: code, took: time.Since(start)}
	t.Logf("act exited %d after %s", code, r.took.Round(time.Millisecond))
	if b, err := os.ReadFile(filepath.Join(out, "result.json")); err == nil {
		r.result = string(b)
	} else {
		t.Errorf("the workflow's last step wrote no result: %v\n%s", err, log)
	}
	if b, err := os.ReadFile(filepath.Join(out, "args")); err == nil {
		r.args = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, actionExecuted+actionSmuggled) {
			t.Errorf("act executed a smuggled workflow command: %s\n%s", line, log)
		}
	}
	return r
}

// TestActionInputs: the action's own bounds and checks under act, with a
// stand-in release (a script that records its arguments and tries to
// smuggle a workflow command): a mirror that accepts and never answers
// fails the install step within actionHungBound with one ::error that
// names the URL; a newline in the version or missing-ok input cannot start
// a workflow command; args that pick another output format are refused,
// so result is never anything but restore -o json's array; and nothing
// restore prints is read as a workflow command.
func TestActionInputs(t *testing.T) {
	releases := harness.ServeDir(t, standInRelease(t, distVersion))

	t.Run("hung-mirror", func(t *testing.T) {
		t.Parallel()
		mirror, accepted := hangingListener(t)
		r := runActionInputs(t, map[string]string{"VERSION": distVersion, "RELEASES": mirror}, actionHungBound+2*time.Minute)
		url := mirror + "/" + distVersion + "/SHA256SUMS"
		want := actionExecuted + "::error title=stacksync install::downloading " + url + " failed after 3 attempts: "
		if r.code == 0 || !strings.Contains(r.log, want) {
			t.Errorf("act exited %d; want its output to hold %q:\n%s", r.code, want, r.log)
		}
		if limit := actionHungBound + 30*time.Second; r.took > limit {
			t.Errorf("the hung mirror held the job %s, want under %s (the action's bound %s and act's own start)", r.took, limit, actionHungBound)
		}
		if n := accepted(); n != 3 {
			t.Errorf("the mirror accepted %d connections, want 3 (one per curl attempt)", n)
		}
		if r.args != nil || r.result != "" {
			t.Errorf("restore ran after the failed install: args %q, result %q", r.args, r.result)
		}
	})

	t.Run("version-newline", func(t *testing.T) {
		t.Parallel()
		r := runActionInputs(t, map[string]string{
			"VERSION":  distVersion + "\n" + actionSmuggled + "from the version input",
			"RELEASES": releases.URL,
		}, 0)
		want := actionExecuted + "::error title=stacksync install::input version '" + distVersion + "%0A" + actionSmuggled + "from the version input' is not a release tag"
		if r.code == 0 || !strings.Contains(r.log, want) {
			t.Errorf("act exited %d; want its output to hold %q:\n%s", r.code, want, r.log)
		}
		if r.args != nil {
			t.Errorf("restore ran after a bad version: %q", r.args)
		}
	})

	t.Run("missing-ok-newline", func(t *testing.T) {
		t.Parallel()
		r := runActionInputs(t, map[string]string{
			"VERSION":    distVersion,
			"RELEASES":   releases.URL,
			"MISSING_OK": "true\n" + actionSmuggled + "from missing-ok\n::set-output name=result::smuggled",
		}, 0)
		want := actionExecuted + "::error title=stacksync restore::input missing-ok is 'true%0A" + actionSmuggled + "from missing-ok%0A::set-output name=result::smuggled'; want true or false"
		if r.code == 0 || !strings.Contains(r.log, want) {
			t.Errorf("act exited %d; want its output to hold %q:\n%s", r.code, want, r.log)
		}
		if r.args != nil || r.result != "" {
			t.Errorf("after a bad missing-ok: stacksync ran with %q, result %q; want neither", r.args, r.result)
		}
	})

	for _, c := range []struct{ args, refused string }{
		{"-o text", "-o"},
		{"--force --output=text", "--output=text"},
	} {
		t.Run("args "+c.args, func(t *testing.T) {
			t.Parallel()
			args := c.args
			r := runActionInputs(t, map[string]string{"VERSION": distVersion, "RELEASES": releases.URL, "ARGS": args}, 0)
			want := actionExecuted + "::error title=stacksync restore::input args holds '" + c.refused + "': the action always runs restore -o json"
			if r.code == 0 || !strings.Contains(r.log, want) {
				t.Errorf("act exited %d; want its output to hold %q:\n%s", r.code, want, r.log)
			}
			if r.args != nil || r.result != "" {
				t.Errorf("with args %q: stacksync ran with %q, result %q; want neither", args, r.args, r.result)
			}
		})
	}

	t.Run("commands-stopped", func(t *testing.T) {
		t.Parallel()
		r := runActionInputs(t, map[string]string{
			"VERSION": distVersion, "RELEASES": releases.URL, "MISSING_OK": "true", "ARGS": "--force",
		}, 0)
		if r.code != 0 {
			t.Fatalf("act exited %d:\n%s", r.code, r.log)
		}
		if want := []string{"restore", "-o", "json", "-C", "devops", "--missing-ok", "--force", "--", "dev"}; !slices.Equal(r.args, want) {
			t.Errorf("stacksync ran with %q, want %q", r.args, want)
		}
		if r.result != "[]" {
			t.Errorf("result = %q, want the stand-in's []", r.result)
		}
		if !strings.Contains(r.log, actionSmuggled+"from stacksync") {
			t.Errorf("act's output lacks the stand-in's line %q:\n%s", actionSmuggled+"from stacksync", r.log)
		}
	})
}

// standInRelease returns a directory holding release version for linux and
// darwin, amd64 and arm64, as make dist lays it out, whose stacksync is a
// shell script: it writes its arguments, one a line, to
// $STACKSYNC_E2E_OUT/args, prints a workflow command on stderr, and prints
// an empty JSON array.
func standInRelease(t *testing.T, version string) string {
	t.Helper()
	const script = "#!/bin/sh\n" +
		"printf '%s\\n' \"$@\" > \"$STACKSYNC_E2E_OUT/args\"\n" +
		"echo '" + actionSmuggled + "from stacksync' >&2\n" +
		"echo '[]'\n"
	dir := t.TempDir()
	var sums strings.Builder
	for _, d := range distTargets {
		if d.os == "windows" {
			continue
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		tw := tar.NewWriter(zw)
		if err := tw.WriteHeader(&tar.Header{Name: d.exe(), Mode: 0o755, Size: int64(len(script)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, script); err != nil {
			t.Fatal(err)
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, version, d.asset(version)), buf.Bytes())
		sum := sha256.Sum256(buf.Bytes())
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), d.asset(version))
	}
	writeFile(t, filepath.Join(dir, version, "SHA256SUMS"), []byte(sums.String()))
	return dir
}

// hangingListener listens on 127.0.0.1 and accepts connections that it
// never answers (nor closes) until the test ends: a mirror that hangs. It
// returns the listener's http:// URL and a count of the connections so far.
func hangingListener(t *testing.T) (string, func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String(), func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}
}

// TestActionWorkflowCommand: scripts/action.sh's workflow_command, the one
// way the action prints a workflow command, escapes % CR LF in the message
// and also : and , in a property, as GitHub documents, so that no value
// ends the command or starts another.
func TestActionWorkflowCommand(t *testing.T) {
	root, err := harness.MainModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ msg, title, want string }{
		{"plain", "stacksync install", "::error title=stacksync install::plain\n"},
		{"50% done", "a:b,c", "::error title=a%3Ab%2Cc::50%25 done\n"},
		{"v1\n::set-output name=x::y", "t", "::error title=t::v1%0A::set-output name=x::y\n"},
		{"a\r\nb%0A", "x\ny", "::error title=x%0Ay::a%0D%0Ab%250A\n"},
		{"", "", "::error title=::\n"},
	} {
		cmd := exec.Command("bash", "-c", `source "$1" && workflow_command error "$2" title "$3"`, "bash",
			filepath.Join(root, "scripts", "action.sh"), c.msg, c.title)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("workflow_command error %q title %q: %v", c.msg, c.title, err)
		}
		if string(out) != c.want {
			t.Errorf("workflow_command error %q title %q printed %q, want %q", c.msg, c.title, out, c.want)
		}
	}
}

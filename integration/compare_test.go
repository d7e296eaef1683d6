//go:build linux

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stacksync/stacksync/integration/harness"
)

var (
	compare          = flag.Bool("compare", false, "run the side-by-side benchmark against pulumi and a bare list+GET program (make bench-compare)")
	compareStacks    = flag.String("compare.stacks", "1000,10000", "comma-separated bucket sizes (stacks) for the audit comparison")
	compareRuns      = flag.Int("compare.runs", 10, "timed whole-process runs of each restore case")
	compareAuditRuns = flag.Int("compare.auditruns", 3, "timed whole-process runs of each audit case")
	compareDelay     = flag.Duration("compare.delay", 20*time.Millisecond, "latency the proxy adds before every request in the remote rows")
	compareJobs      = flag.String("compare.jobs", "16,32,64,128", "comma-separated concurrencies for stacksync audit -j and the bare program")
	compareDoc       = flag.String("compare.doc", "", "Markdown file whose side-by-side section to regenerate, e.g. ../docs/performance.md (empty: print only)")
	compareBackends  = flag.String("compare.backends", "s3,gs,azblob,postgres", "comma-separated backends to compare on: s3 (versitygw), gs (fake-gcs-server), azblob (Azurite), postgres (PostgreSQL)")
	compareBStacks   = flag.Int("compare.backendstacks", 300, "stacks in the audit comparison on the backends other than s3")
)

// TestCompare is the side-by-side benchmark: whole processes of
// stacksync against the tools a user has today, on one versitygw, straight
// and through a LatencyProxy, with the results printed and (with
// -compare.doc) written into docs/performance.md. Every run's output is
// checked, so a tool that did not do the work fails the test instead of
// posting a fast time. It runs only with -compare (make bench-compare).
//
//	cd integration && go test -count=1 -timeout 180m -run '^TestCompare$' -v . \
//	  -compare -compare.stacks=1000,10000 -compare.doc=../docs/performance.md
func TestCompare(t *testing.T) {
	if !*compare {
		t.Skip("side-by-side benchmark; run with -compare (make bench-compare)")
	}
	stacks, err := parseInts(*compareStacks)
	if err != nil {
		t.Fatalf("-compare.stacks: %v", err)
	}
	jobs, err := parseInts(*compareJobs)
	if err != nil {
		t.Fatalf("-compare.jobs: %v", err)
	}
	if *compareRuns < 1 || *compareAuditRuns < 1 || *compareBStacks < 1 {
		t.Fatal("-compare.runs, -compare.auditruns and -compare.backendstacks must be at least 1")
	}
	backends, err := parseBackends(*compareBackends)
	if err != nil {
		t.Fatalf("-compare.backends: %v", err)
	}
	rep := &compareReport{
		Runs: *compareRuns, AuditRuns: *compareAuditRuns, Delay: *compareDelay,
		Jobs: jobs, Stacks: stacks, Started: time.Now(),
		Backends: backends, BackendStacks: *compareBStacks,
	}
	rep.Machine = describeMachine(t)
	rep.Python = findPython(t)
	load := startLoadSampler(5 * time.Second)

	bin := harness.BuildStacksync(t)
	bare := buildBareList(t)
	sd := seedS3(t)
	proxy := harness.StartLatencyProxy(t, sd.s.Endpoint, *compareDelay)
	delays := []time.Duration{0, *compareDelay}
	hostPort := func(d time.Duration) string {
		if d == 0 {
			return sd.s.HostPort
		}
		return proxy.HostPort
	}
	caBundle := os.Getenv("AWS_CA_BUNDLE")
	rep.CABundle = caBundle

	if slices.Contains(backends, "s3") {
		for _, d := range delays {
			compareRestore(t, rep, sd, bin, caBundle, d, harness.S3BackendURL(hostPort(d), harness.Region, "state", ""))
		}
		for _, n := range stacks {
			bucket := fmt.Sprintf("compare%d", n)
			uploadAuditBucket(t, sd.s, bucket, n)
			for _, d := range delays {
				compareAudit(t, rep, sd, bin, bare, caBundle, n, d, jobs, bucket, hostPort(d))
			}
		}
		if proxy.Requests() == 0 {
			t.Errorf("nothing went through the latency proxy")
		}
	}
	compareOtherBackends(t, rep, bin, sd.k)
	rep.Load = load.stop()
	rep.Finished = time.Now()

	section := rep.markdown()
	fmt.Println(section)
	if t.Failed() || *compareDoc == "" {
		return
	}
	if err := writeDocSection(*compareDoc, section); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote the side-by-side section of %s", *compareDoc)
}

// compareCase is one row of a comparison: a command to run as a whole
// process and a check of what it did.
type compareCase struct {
	name string
	// prepare, if set, runs before every run, untimed (e.g. puts back the
	// settings file pulumi regenerated).
	prepare func() error
	cmd     func() *exec.Cmd
	// check returns an error if the run did not do the work.
	check func(stdout, stderr string) error
}

// compareRestore times one stack's restore by stacksync against pulumi
// stack export and the investigation's workaround.
func compareRestore(t *testing.T, rep *compareReport, sd *seeded, bin, caBundle string, d time.Duration, backend string) {
	t.Helper()
	gp := settingsProvider(sd.good)
	reset := func() error { return os.WriteFile(sd.path, sd.before, 0o644) }
	wantRestored := "secretsprovider: " + gp.URL + "\nencryptedkey: " + gp.EncryptedKey + "\n" + string(sd.before)
	checkRestored := func(_, _ string) error {
		if got, err := os.ReadFile(sd.path); err != nil || string(got) != wantRestored {
			return fmt.Errorf("settings file after restore (%v):\n%s", err, got)
		}
		return nil
	}
	ssEnv := stacksyncEnv(t, sd.s.Env()...)
	ssEnvNoCA := append([]string(nil), ssEnv...)
	if caBundle != "" {
		ssEnv = append(ssEnv, "AWS_CA_BUNDLE="+caBundle)
	}
	stacksync := func(env []string) func() *exec.Cmd {
		return func() *exec.Cmd {
			return command(sd.dir, env, bin, "restore", "-C", sd.dir, "--backend", backend, seedStack)
		}
	}
	pEnv := append(sd.p.Env(), "PULUMI_BACKEND_URL="+backend)
	if caBundle != "" {
		pEnv = append(pEnv, "AWS_CA_BUNDLE="+caBundle)
	}
	script := writeWorkaround(t)
	wEnv := append(append([]string(nil), pEnv...), "PATH="+filepath.Dir(rep.Python.Executable)+string(os.PathListSeparator)+envValue(pEnv, "PATH"))

	cases := []compareCase{{
		name:    rowRestore,
		prepare: reset,
		cmd:     stacksync(ssEnv),
		check:   checkRestored,
	}, {
		name:    rowRestoreNoCA,
		prepare: reset,
		cmd:     stacksync(ssEnvNoCA),
		check:   checkRestored,
	}, {
		name:  rowExport,
		cmd:   func() *exec.Cmd { return command(sd.dir, pEnv, sd.p.Bin, "stack", "export", "--stack", seedStack) },
		check: checkExport(gp),
	}, {
		name:    rowWorkaround,
		prepare: reset,
		cmd:     func() *exec.Cmd { return command(sd.dir, wEnv, "bash", script, seedStack, sd.dir) },
		check: func(_, _ string) error {
			got, err := os.ReadFile(sd.path)
			if err != nil {
				return err
			}
			if p := settingsProvider(got); p.URL != gp.URL || p.EncryptedKey != gp.EncryptedKey || !strings.Contains(string(got), "test:value: hello") {
				return fmt.Errorf("settings file after the workaround:\n%s", got)
			}
			return nil
		},
	}}
	runCases(t, rep, "restore", 0, d, *compareRuns, cases, true)
	if err := reset(); err != nil {
		t.Fatal(err)
	}
}

// compareAudit times an audit of a bucket of n stacks by stacksync (with
// its default -j and each of jobs), pulumi stack ls --all, and the bare
// list+GET program at each of jobs.
func compareAudit(t *testing.T, rep *compareReport, sd *seeded, bin, bare, caBundle string, n int, d time.Duration, jobs []int, bucket, hostPort string) {
	t.Helper()
	backend := harness.S3BackendURL(hostPort, harness.Region, bucket, "")
	ssEnv := stacksyncEnv(t, sd.s.Env()...)
	pEnv := append(sd.p.Env(), "PULUMI_BACKEND_URL="+backend)
	bareEnv := append(stacksyncEnv(t, sd.s.Env()...), "AWS_ENDPOINT_URL_S3=http://"+hostPort)
	if caBundle != "" {
		ssEnv = append(ssEnv, "AWS_CA_BUNDLE="+caBundle)
		pEnv = append(pEnv, "AWS_CA_BUNDLE="+caBundle)
		bareEnv = append(bareEnv, "AWS_CA_BUNDLE="+caBundle)
	}
	work := t.TempDir() // no Pulumi.yaml: stack ls --all lists every project
	checkAudit := func(stdout, _ string) error {
		var out struct {
			Summary struct{ Stacks, Errors int } `json:"summary"`
		}
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			return fmt.Errorf("audit -o json: %w", err)
		}
		if out.Summary.Stacks != n || out.Summary.Errors != 0 {
			return fmt.Errorf("audit: %d stacks, %d errors; want %d, 0", out.Summary.Stacks, out.Summary.Errors, n)
		}
		return nil
	}
	audit := func(args ...string) func() *exec.Cmd {
		return func() *exec.Cmd {
			return command(work, ssEnv, bin, append([]string{"audit", "--backend", backend, "-o", "json"}, args...)...)
		}
	}
	cases := []compareCase{{name: rowAudit, cmd: audit(), check: checkAudit}}
	for _, j := range jobs {
		cases = append(cases, compareCase{name: rowAuditJ(j), cmd: audit("-j", strconv.Itoa(j)), check: checkAudit})
	}
	for _, j := range jobs {
		cases = append(cases, compareCase{
			name: rowBareJ(j),
			cmd: func() *exec.Cmd {
				return command(work, bareEnv, bare, "-bucket", bucket, "-path-style", "-j", strconv.Itoa(j))
			},
			check: func(stdout, stderr string) error {
				if !strings.HasPrefix(stdout, strconv.Itoa(n)+" checkpoints,") || stderr != "" {
					return fmt.Errorf("bare list+GET: %q, want %d checkpoints and nothing on stderr", stdout, n)
				}
				return nil
			},
		})
	}
	cases = append(cases, compareCase{
		name: rowStackLs,
		cmd:  func() *exec.Cmd { return command(work, pEnv, sd.p.Bin, "stack", "ls", "--all", "--json") },
		check: func(stdout, _ string) error {
			var ls []struct {
				Name string `json:"name"`
			}
			if err := json.Unmarshal([]byte(stdout), &ls); err != nil {
				return fmt.Errorf("stack ls --json: %w", err)
			}
			if len(ls) != n {
				return fmt.Errorf("stack ls --all listed %d stacks, want %d", len(ls), n)
			}
			return nil
		},
	})
	runCases(t, rep, "audit", n, d, *compareAuditRuns, cases, false)
}

// runCases runs each case once untimed (all of them if warmEach, else only
// the first, to warm the gateway's page cache), then runs times the cases
// in turn, so that a change of load on the shared machine spreads over all
// of them, and records each run's wall time and peak RSS.
func runCases(t *testing.T, rep *compareReport, work string, n int, d time.Duration, runs int, cases []compareCase, warmEach bool) {
	t.Helper()
	once := func(c compareCase) (time.Duration, int64, bool) {
		if c.prepare != nil {
			if err := c.prepare(); err != nil {
				t.Fatalf("%s: preparing: %v", c.name, err)
			}
		}
		wall, rss, stdout, stderr, err := runTimed(c.cmd())
		if err != nil {
			t.Errorf("%s (%s, %d stacks, %v): %v\nstdout:\n%.2000s\nstderr:\n%.2000s", c.name, work, n, d, err, stdout, stderr)
			return 0, 0, false
		}
		if err := c.check(stdout, stderr); err != nil {
			t.Errorf("%s (%s, %d stacks, %v): %v\nstderr:\n%.2000s", c.name, work, n, d, err, stderr)
			return 0, 0, false
		}
		return wall, rss, true
	}
	for i, c := range cases {
		if i == 0 || warmEach {
			if _, _, ok := once(c); !ok {
				return
			}
		}
	}
	results := make([]*compareResult, len(cases))
	for i, c := range cases {
		results[i] = rep.result(work, c.name, n, d)
	}
	for range runs {
		for i, c := range cases {
			wall, rss, ok := once(c)
			if !ok {
				return
			}
			results[i].add(wall, rss)
		}
	}
	for _, r := range results {
		t.Logf("%s", r)
	}
}

// command is an exec.Cmd of name with exactly env, run in dir.
func command(dir string, env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = env
	return cmd
}

// runTimed runs cmd and returns its wall time (start to exit) and peak
// RSS in KiB. For a process that waits for children (a shell script), the
// kernel reports the largest of it and its waited-for descendants.
func runTimed(cmd *exec.Cmd) (wall time.Duration, rssKiB int64, stdout, stderr string, err error) {
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, "", "", err
	}
	stop := context.AfterFunc(ctx, func() { _ = cmd.Process.Kill() })
	err = cmd.Wait()
	wall = time.Since(start)
	stop()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rssKiB = ru.Maxrss // KiB on Linux
	}
	return wall, rssKiB, o.String(), e.String(), err
}

// buildBareList builds integration/cmd/barelist into a temp dir.
func buildBareList(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "barelist")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/barelist")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/barelist: %v\n%s", err, b)
	}
	return out
}

// uploadAuditBucket fills bucket with n small real-pulumi checkpoints, as
// BenchmarkAuditS3 does: the v3.274.1 fixtures round robin (plain, gzip,
// zstd) over 10 projects.
func uploadAuditBucket(t *testing.T, s *harness.S3, bucket string, n int) {
	t.Helper()
	s.CreateBucket(t, bucket)
	objs := auditObjects(t, n)
	start := time.Now()
	auditUpload(t, s, bucket, objs, 16)
	t.Logf("uploaded %d objects to %s in %v", len(objs), bucket, time.Since(start))
}

// workaroundScript is the fix of the user's investigation of the failure
// ("The Solution" > "Implementation"), as
// written there, after `pulumi stack select`. The changes: `uv run pulumi`
// is `pulumi` (no uv project here), `-C devops` is the project dir of the
// benchmark, the shell options are those of a GitHub Actions bash step,
// and the Python of step 3 is dedented: as written it is indented with the
// shell `if` around it, and python3 -c rejects it (IndentationError), so
// the step fails under -e and, without -e, step 4 writes the file without
// its config.
const workaroundScript = `set -eo pipefail
STACK="$1"
PROJECT="$2"
STACK_YAML="$PROJECT/Pulumi.$STACK.yaml"
pulumi stack select "$STACK" -C "$PROJECT"

# 1. Export stack to get secrets provider info from S3 state
STACK_EXPORT=$(pulumi stack export -C "$PROJECT" 2>&1)

# 2. Extract KMS provider URL and encrypted key from JSON
KMS_URL=$(echo "$STACK_EXPORT" | python3 -c "
import sys, json
data = json.load(sys.stdin)
sp = data.get('deployment', {}).get('secrets_providers', {})
if sp.get('type') == 'cloud':
    print(sp['state']['url'])
")

KMS_KEY=$(echo "$STACK_EXPORT" | python3 -c "
import sys, json
data = json.load(sys.stdin)
sp = data.get('deployment', {}).get('secrets_providers', {})
if sp.get('type') == 'cloud':
    print(sp['state']['encryptedkey'])
")

# 3. Read existing config from local YAML (if any)
if [ -f "$STACK_YAML" ]; then
  EXISTING_CONFIG=$(python3 -c "
import yaml
with open('$STACK_YAML', 'r') as f:
    data = yaml.safe_load(f) or {}
    config = data.get('config', {})
    print(yaml.dump({'config': config}) if config else '')
")
fi

# 4. Write new YAML with KMS metadata + existing config
python3 -c "
import yaml
data = {
    'secretsprovider': '$KMS_URL',
    'encryptedkey': '$KMS_KEY'
}
if '''$EXISTING_CONFIG''':
    existing = yaml.safe_load('''$EXISTING_CONFIG''')
    if existing and 'config' in existing:
        data['config'] = existing['config']
with open('$STACK_YAML', 'w') as f:
    yaml.dump(data, f, default_flow_style=False)
"
`

func writeWorkaround(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "workaround.sh")
	if err := os.WriteFile(p, []byte(workaroundScript), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// envValue is the value of key in env ("K=V" entries, last wins).
func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// parseBackends parses "s3,gs": names of compareBackendNames, put in
// their order.
func parseBackends(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if !slices.Contains(compareBackendNames, f) {
			return nil, fmt.Errorf("unknown backend %q (want some of %s)", f, strings.Join(compareBackendNames, ","))
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty list %q", s)
	}
	return slices.DeleteFunc(slices.Clone(compareBackendNames), func(n string) bool { return !slices.Contains(out, n) }), nil
}

// parseInts parses "16,32,64".
func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty list %q", s)
	}
	return out, nil
}

// checkExport checks that `pulumi stack export` printed a deployment whose
// secrets provider is gp, the one pulumi wrote at init.
func checkExport(gp provider) func(stdout, stderr string) error {
	return func(stdout, _ string) error {
		var exp struct {
			Deployment struct {
				SecretsProviders struct {
					State struct {
						URL          string `json:"url"`
						EncryptedKey string `json:"encryptedkey"`
					} `json:"state"`
				} `json:"secrets_providers"`
			} `json:"deployment"`
		}
		if err := json.Unmarshal([]byte(stdout), &exp); err != nil {
			return fmt.Errorf("stack export output: %w", err)
		}
		if st := exp.Deployment.SecretsProviders.State; st.URL != gp.URL || st.EncryptedKey != gp.EncryptedKey {
			return fmt.Errorf("stack export: provider %+v, want %s", st, gp.URL)
		}
		return nil
	}
}

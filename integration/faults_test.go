package integration

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stacksync/stacksync/integration/harness"
)

// defaultHangBound is how long one request to an endpoint that accepts the
// connection and never answers takes to fail with stacksync's defaults
// (the hang bound of pkg/state/s3store's Options: 3 attempts × 10 s
// response-header deadline + at most 150 ms of backoff). The end-to-end bound adds the
// process's own start and exit.
const (
	defaultHangBound = 30*time.Second + 150*time.Millisecond
	processSlack     = 5 * time.Second
)

// faultStack is the examples/ stack the fault tests restore.
const faultStack = "staging"

// faultWorld is versitygw holding examples/backend, a fault proxy in front
// of it, and the settings file a clean restore writes.
type faultWorld struct {
	bin     string
	proxy   *harness.FaultProxy
	backend string // through the proxy
	env     []string
	src     []byte // examples/project's settings file: config only
	want    []byte // the settings file after a clean restore
}

func newFaultWorld(t *testing.T) *faultWorld {
	t.Helper()
	w := &faultWorld{bin: harness.BuildStacksync(t)}
	s := harness.StartS3(t)
	s.CreateBucket(t, "state")
	main, err := harness.MainModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	s.UploadDir(t, "state", "", filepath.Join(main, "examples", "backend"))
	w.src = readFile(t, filepath.Join(main, "examples", "project", "Pulumi."+faultStack+".yaml"))
	w.proxy = harness.StartFaultProxy(t, s.Endpoint)
	w.backend = harness.S3BackendURL(w.proxy.HostPort, harness.Region, "state", "")
	w.env = stacksyncEnv(t, s.Env()...)

	dir := w.project(t)
	if o, e, code := runStacksync(t, w.bin, w.env, "restore", "-C", dir, "--backend", w.backend, faultStack); code != 0 {
		t.Fatalf("restore without faults: exit %d\nstdout:\n%s\nstderr:\n%s", code, o, e)
	}
	w.want = readFile(t, filepath.Join(dir, "Pulumi."+faultStack+".yaml"))
	if !strings.HasPrefix(string(w.want), "encryptionsalt: v1:") || !strings.HasSuffix(string(w.want), string(w.src)) {
		t.Fatalf("restore without faults wrote:\n%s", w.want)
	}
	return w
}

// project writes a fresh project directory holding the config-only
// settings file.
func (w *faultWorld) project(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte("name: demo\nruntime: yaml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Pulumi."+faultStack+".yaml"), w.src, 0o644); err != nil {
		t.Fatal(err)
	}
	// An mtime in the past, so that a rewrite with the same bytes shows.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "Pulumi."+faultStack+".yaml"), old, old); err != nil {
		t.Fatal(err)
	}
	return dir
}

// faultCase is one fault and what stacksync must do under it.
type faultCase struct {
	name    string
	rules   []harness.FaultRule
	args    []string // extra flags
	env     []string // extra environment, overriding the gateway's
	backend string   // instead of the proxy's backend URL
	// wantCode 0: the command succeeds through retries or a resume.
	wantCode int
	want     []string // fragments of stderr (any case); "a|b" accepts either
	within   time.Duration
	check    func(t *testing.T, reqs []harness.FaultRequest)
}

// rangeRE matches the one-range Range headers stacksync sends.
var rangeRE = regexp.MustCompile(`^bytes=([0-9]+)-([0-9]*)$`)

// resumedWithIfMatch checks that a checkpoint GET broken mid-body was
// followed by a ranged GET, conditional on the first response's ETag.
func resumedWithIfMatch(t *testing.T, reqs []harness.FaultRequest) {
	t.Helper()
	for i, r := range reqs {
		if r.Fault != harness.FaultReset && r.Fault != harness.FaultTruncate {
			continue
		}
		for _, next := range reqs[i+1:] {
			if next.Method == r.Method && next.Path() == r.Path() {
				// The resume asks for the rest of what the broken GET
				// asked for: from a later offset to the same end.
				start, end := int64(0), ""
				if m := rangeRE.FindStringSubmatch(r.Range); m != nil {
					start, _ = strconv.ParseInt(m[1], 10, 64)
					end = m[2]
				} else if r.Range != "" {
					t.Fatalf("broken GET with Range %q", r.Range)
				}
				m := rangeRE.FindStringSubmatch(next.Range)
				var at int64
				if m != nil {
					at, _ = strconv.ParseInt(m[1], 10, 64)
				}
				if m == nil || at <= start || m[2] != end || next.IfMatch == "" {
					t.Errorf("after %s of %s (Range %q) the next GET has Range %q and If-Match %q; want bytes=<offset past %d>-%s and the ETag", r.Fault, r.URI, r.Range, next.Range, next.IfMatch, start, end)
				}
				return
			}
		}
		t.Errorf("no GET of %s after the %s", r.Path(), r.Fault)
		return
	}
	t.Errorf("no request was broken: %+v", reqs)
}

// TestFaultsRestore runs the real stacksync binary's restore through the
// fault proxy: transient faults are retried or resumed and the restore
// succeeds with the same file as a clean one; lasting faults fail with
// exit 1 and one clear line, and leave the settings file as it was (bytes
// and mtime).
func TestFaultsRestore(t *testing.T) {
	w := newFaultWorld(t)
	get := func(path string, first int, f harness.Fault) harness.FaultRule {
		return harness.FaultRule{Method: http.MethodGet, Path: path, First: first, Fault: f}
	}
	cases := []faultCase{{
		name:  "503-slowdown-then-ok",
		rules: []harness.FaultRule{get(".json", 2, harness.FaultSlowDown)},
		check: func(t *testing.T, reqs []harness.FaultRequest) { wantFaulted(t, reqs, harness.FaultSlowDown, 2) },
	}, {
		name:  "500-on-every-first-request-then-ok",
		rules: []harness.FaultRule{{First: 2, Fault: harness.FaultInternal}},
		check: func(t *testing.T, reqs []harness.FaultRequest) { wantFaulted(t, reqs, harness.FaultInternal, 2) },
	}, {
		name:  "reset-mid-body",
		rules: []harness.FaultRule{get(".json", 1, harness.FaultReset)},
		check: resumedWithIfMatch,
	}, {
		name:  "truncated-body",
		rules: []harness.FaultRule{get(".json", 1, harness.FaultTruncate)},
		check: resumedWithIfMatch,
	}, {
		name:     "truncated-every-time",
		rules:    []harness.FaultRule{get(".json", 0, harness.FaultTruncate)},
		wantCode: 1,
		want:     []string{"s3://state/.pulumi/stacks/demo/staging.json", "body ended after", "3 attempts"},
	}, {
		name:     "503-past-the-retries",
		rules:    []harness.FaultRule{get("", 0, harness.FaultSlowDown)},
		wantCode: 1,
		want:     []string{"503", "SlowDown", "try again later"},
	}, {
		name:     "403",
		rules:    []harness.FaultRule{{Fault: harness.FaultForbidden}},
		wantCode: 1,
		want:     []string{"access denied", "AccessDenied", "s3://state"},
	}, {
		name:     "unknown-access-key-id",
		env:      []string{"AWS_ACCESS_KEY_ID=NOSUCHKEYID"},
		wantCode: 1,
		want:     []string{"access denied", "no such access key id", "AWS_ACCESS_KEY_ID"},
	}, {
		name:     "wrong-region",
		backend:  harness.S3BackendURL(w.proxy.HostPort, "eu-west-1", "state", ""),
		wantCode: 1,
		want:     []string{"bucket s3://state is in region " + harness.Region + ", not eu-west-1", "AWS_REGION=" + harness.Region, "?region=" + harness.Region},
	}, {
		name:     "hang-defaults",
		rules:    []harness.FaultRule{{Fault: harness.FaultHang}},
		wantCode: 1,
		want:     []string{w.proxy.URL, "did not answer"},
		within:   defaultHangBound + processSlack,
	}, {
		// The --timeout flag's contract: it bounds the whole command; on
		// expiry the exit is 1 and the message says it timed out.
		name:     "hang-timeout-3s",
		rules:    []harness.FaultRule{{Fault: harness.FaultHang}},
		args:     []string{"--timeout", "3s"},
		wantCode: 1,
		want:     []string{"timed out"},
		within:   5 * time.Second,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := w.project(t)
			snap := snapshot(t, dir)
			w.proxy.SetRules(tc.rules...)
			backend := w.backend
			if tc.backend != "" {
				backend = tc.backend
			}
			args := append([]string{"restore", "-C", dir, "--backend", backend}, tc.args...)
			start := time.Now()
			o, e, code := runStacksync(t, w.bin, append(append([]string(nil), w.env...), tc.env...), append(args, faultStack)...)
			took := time.Since(start)
			t.Logf("exit %d after %s; stderr: %s", code, took.Round(10*time.Millisecond), strings.TrimSpace(e))
			w.assertOutcome(t, tc, code, o, e, took)
			if tc.wantCode == 0 {
				if got := readFile(t, filepath.Join(dir, "Pulumi."+faultStack+".yaml")); string(got) != string(w.want) {
					t.Errorf("restored file:\n%s\nwant (as without faults):\n%s", got, w.want)
				}
			} else {
				snap.assertSame(t, snapshot(t, dir))
			}
			if tc.check != nil {
				tc.check(t, w.proxy.Requests())
			}
			assertFaultReadOnly(t, w.proxy.Requests())
		})
	}
}

// TestFaultsAudit runs audit through the fault proxy: it reads every
// checkpoint, so a transient fault on any of them must not show in the
// report, and a lasting one must fail it in bounded time.
func TestFaultsAudit(t *testing.T) {
	w := newFaultWorld(t)
	cases := []faultCase{{
		name:  "503-slowdown-then-ok",
		rules: []harness.FaultRule{{Method: http.MethodGet, Path: ".json", First: 2, Fault: harness.FaultSlowDown}},
		check: func(t *testing.T, reqs []harness.FaultRequest) { wantFaulted(t, reqs, harness.FaultSlowDown, 2) },
	}, {
		name:  "reset-mid-body",
		rules: []harness.FaultRule{{Method: http.MethodGet, Path: ".json", First: 1, Fault: harness.FaultReset}},
		check: resumedWithIfMatch,
	}, {
		name:     "403",
		rules:    []harness.FaultRule{{Fault: harness.FaultForbidden}},
		wantCode: 1,
		want:     []string{"access denied", "s3://state"},
	}, {
		name:     "hang-timeout-3s",
		rules:    []harness.FaultRule{{Fault: harness.FaultHang}},
		args:     []string{"--timeout", "3s"},
		wantCode: 1,
		want:     []string{"timed out"},
		within:   5 * time.Second,
	}}
	var clean string
	for i, tc := range append([]faultCase{{name: "no-faults"}}, cases...) {
		t.Run(tc.name, func(t *testing.T) {
			w.proxy.SetRules(tc.rules...)
			args := append([]string{"audit", "--backend", w.backend, "-o", "csv"}, tc.args...)
			start := time.Now()
			o, e, code := runStacksync(t, w.bin, w.env, args...)
			took := time.Since(start)
			t.Logf("exit %d after %s; stderr: %s", code, took.Round(10*time.Millisecond), strings.TrimSpace(e))
			w.assertOutcome(t, tc, code, o, e, took)
			switch {
			case i == 0:
				clean = o
				if !strings.Contains(o, faultStack) {
					t.Fatalf("audit without faults lists no %s:\n%s", faultStack, o)
				}
			case tc.wantCode == 0 && o != clean:
				t.Errorf("report under faults:\n%s\nwant (as without faults):\n%s", o, clean)
			}
			if tc.check != nil {
				tc.check(t, w.proxy.Requests())
			}
			assertFaultReadOnly(t, w.proxy.Requests())
		})
	}
}

// assertOutcome checks the exit code, the message and the time taken.
func (w *faultWorld) assertOutcome(t *testing.T, tc faultCase, code int, stdout, stderr string, took time.Duration) {
	t.Helper()
	if code != tc.wantCode {
		t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, stdout, stderr)
	}
	if tc.wantCode != 0 {
		if line := strings.TrimSuffix(stderr, "\n"); line == "" || strings.Contains(line, "\n") {
			t.Errorf("stderr is not one line:\n%s", stderr)
		}
		for _, bad := range []string{"StatusCode:", "operation error", "RequestID"} {
			if strings.Contains(stderr, bad) {
				t.Errorf("stderr carries the SDK's raw text %q:\n%s", bad, stderr)
			}
		}
	}
	for _, f := range tc.want {
		if !containsAnyFold(stderr, strings.Split(f, "|")) {
			t.Errorf("stderr lacks %q:\n%s", f, stderr)
		}
	}
	if tc.within > 0 && took > tc.within {
		t.Errorf("took %s, want at most %s", took.Round(10*time.Millisecond), tc.within)
	}
}

// wantFaulted checks that exactly n requests got fault f.
func wantFaulted(t *testing.T, reqs []harness.FaultRequest, f harness.Fault, n int) {
	t.Helper()
	got := 0
	for _, r := range reqs {
		if r.Fault == f {
			got++
		}
	}
	if got != n {
		t.Errorf("%d requests got %s, want %d: %+v", got, f, n, reqs)
	}
}

// assertFaultReadOnly fails on any request but GET and HEAD.
func assertFaultReadOnly(t *testing.T, reqs []harness.FaultRequest) {
	t.Helper()
	if len(reqs) == 0 {
		t.Error("the proxy saw no request")
	}
	for _, r := range reqs {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			t.Errorf("stacksync sent %s", r.Request)
		}
	}
}

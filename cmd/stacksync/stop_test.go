package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// stopFixture is a backend with n stacks of project demo (dev000, …), a
// lock-free project directory, and, with files set, a config-only
// settings file per stack.
func stopFixture(t *testing.T, n int, files bool) *fixture {
	t.Helper()
	objects := map[string]string{}
	for i := range n {
		objects[fmt.Sprintf(".pulumi/stacks/demo/dev%03d.json", i)] = cloudCheckpoint(fmt.Sprintf("dev%03d", i))
	}
	f := newFixture(t, objects)
	if files {
		for i := range n {
			write(t, filepath.Join(f.project, fmt.Sprintf("Pulumi.dev%03d.yaml", i)), "config:\n  demo:x: y\n")
		}
	}
	return f
}

// runCtx runs stacksync in the fixture's project under ctx, with stdout
// going to out.
func (f *fixture) runCtx(ctx context.Context, out interface{ Write([]byte) (int, error) }, args ...string) (int, string) {
	var errb bytes.Buffer
	e := &env{stdout: out, stderr: &errb, getenv: func(string) string { return "" }, home: f.root, cwd: f.project}
	return run(ctx, args, e), errb.String()
}

// cancelOnWrite is a stdout that cancels the command's context on its
// first write, the way a Ctrl-C lands just after the first stack is done.
type cancelOnWrite struct {
	bytes.Buffer
	cancel context.CancelFunc
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	w.cancel()
	return w.Buffer.Write(p)
}

// settingsFiles lists the Pulumi.*.yaml files in dir.
func settingsFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "Pulumi.*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// An interrupt while restore --all runs starts no other stack and lets the
// stacks in hand finish or abandon their write: one line on stderr that
// counts the stacks reported, exit 130, every stack reported restored in
// full and every other one untouched.
func TestRestoreAllInterrupted(t *testing.T) {
	const n = 200 // more than restore reads at once
	f := stopFixture(t, n, false)
	backend := "file://" + f.backend
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelOnWrite{cancel: cancel}
	code, errs := f.runCtx(ctx, out, "restore", "--all", "--backend", backend)
	if code != exitInterrupted {
		t.Errorf("exit %d, want 130", code)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if want := fmt.Sprintf("stacksync: interrupted: %d of %d stacks done\n", len(lines), n); errs != want {
		t.Errorf("stderr %q, want only %q", errs, want)
	}
	if !strings.HasPrefix(lines[0], "dev000: created") {
		t.Errorf("stdout %q, want dev000 first", out.String())
	}
	if len(lines) == n {
		t.Errorf("stdout %q: every stack done, want the interrupt to stop some", out.String())
	}
	var reported []string
	for _, l := range lines {
		stack, _, _ := strings.Cut(l, ":")
		reported = append(reported, filepath.Join(f.project, "Pulumi."+stack+".yaml"))
		if want := "secretsprovider: " + kmsURL + "\nencryptedkey: " + kmsKey + "\n"; f.settings(t, stack) != want {
			t.Errorf("%s restored as %q", stack, f.settings(t, stack))
		}
	}
	sort.Strings(reported)
	if files := settingsFiles(t, f.project); !slices.Equal(files, reported) {
		t.Fatalf("settings files %q, want those of the stacks reported, %q", files, reported)
	}
	// The next run picks up where the interrupted one stopped.
	if code, _, errs := f.run(t, "restore", "--all"); code != exitOK || len(settingsFiles(t, f.project)) != n {
		t.Errorf("rerun: exit %d, %d files; stderr %q", code, len(settingsFiles(t, f.project)), errs)
	}
}

// check stops the same way: the findings printed are the stacks counted.
func TestCheckInterrupted(t *testing.T) {
	const n = 200 // more than check reads at once
	f := stopFixture(t, n, true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelOnWrite{cancel: cancel}
	code, errs := f.runCtx(ctx, out, "check", "--backend", "file://"+f.backend)
	if code != exitInterrupted {
		t.Errorf("exit %d, want 130", code)
	}
	got := strings.Count(out.String(), "\n")
	if want := fmt.Sprintf("stacksync: interrupted: %d of %d stacks done\n", got, n); errs != want {
		t.Errorf("stderr %q, want only %q", errs, want)
	}
	if got < 1 || got == n {
		t.Errorf("stdout %q, want the interrupt to stop after the first finding and before the last", out.String())
	}
}

var oneStopLine = regexp.MustCompile(`^stacksync: (interrupted|timed out after 1ns \(--timeout\))(: \d+ of \d+ stacks done)?[^\n]*\n$`)

// Every command that touches a backend, stopped before it starts (an
// interrupt) or by a --timeout that has passed, prints one line and exits
// 130 or 1; JSON output stays valid JSON or is empty.
func TestStoppedCommandsPrintOneLine(t *testing.T) {
	commands := [][]string{
		{"restore", "--all"},
		{"restore", "--all", "-o", "json"},
		{"restore", "dev000", "dev001"},
		{"audit"},
		{"audit", "-o", "json"},
		{"ls"},
		{"show", "dev000"},
		{"check"},
		{"check", "-o", "json"},
	}
	f := stopFixture(t, 20, true)
	before := snapshotSettings(t, f.project)
	for _, args := range commands {
		args = append(args, "--backend", "file://"+f.backend)
		for _, stop := range []string{"interrupt", "timeout"} {
			ctx, cancel := context.WithCancel(context.Background())
			a := args
			code := exitError
			if stop == "interrupt" {
				cancel()
				code = exitInterrupted
			} else {
				a = append(a[:len(a):len(a)], "--timeout", "1ns")
			}
			var out bytes.Buffer
			got, errs := f.runCtx(ctx, &out, a...)
			cancel()
			if got != code {
				t.Errorf("%s %v: exit %d, want %d; stderr %q", stop, args, got, code, errs)
			}
			if !oneStopLine.MatchString(errs) || (stop == "interrupt") != strings.Contains(errs, "interrupted") {
				t.Errorf("%s %v: stderr %q, want one line that says it was %sed", stop, args, errs, stop)
			}
			if strings.Contains(strings.Join(args, " "), "json") && out.Len() > 0 && !json.Valid(out.Bytes()) {
				t.Errorf("%s %v: stdout is not JSON: %q", stop, args, out.String())
			}
		}
	}
	if after := snapshotSettings(t, f.project); after != before {
		t.Error("a stopped command changed a settings file")
	}
}

func snapshotSettings(t *testing.T, dir string) string {
	t.Helper()
	var sb strings.Builder
	for _, p := range settingsFiles(t, dir) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sb, "%s\n%s\n", p, data)
	}
	return sb.String()
}

func TestTimeoutIsADeadline(t *testing.T) {
	ctx, cancel := withTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) || !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		t.Errorf("err %v, cause %v: want both to match context.DeadlineExceeded", ctx.Err(), context.Cause(ctx))
	}
	ctx, cancel = withTimeout(context.Background(), 0)
	defer cancel()
	if _, ok := ctx.Deadline(); ok {
		t.Error("--timeout 0 set a deadline")
	}
}

func TestTimeoutFlag(t *testing.T) {
	f := stopFixture(t, 1, false)
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"restore", "dev000", "--timeout", "-1s"}, exitUsage, "--timeout -1s: want a positive duration"},
		{[]string{"audit", "--timeout", "soon"}, exitUsage, `invalid value "soon" for flag --timeout`},
		{[]string{"restore", "dev000", "--timeout", "0"}, exitOK, ""},
		{[]string{"restore", "dev000", "--timeout", "1m", "--check"}, exitOK, ""},
	} {
		code, _, errs := f.run(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.stderr) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errs, tc.code, tc.stderr)
		}
	}
}

// hungEndpoint accepts connections and never answers, like an S3 endpoint
// behind a broken proxy.
func hungEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
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
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// A backend that never answers fails at --timeout with the one line.
func TestTimeoutOnAHungEndpoint(t *testing.T) {
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
		"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	f := stopFixture(t, 0, false)
	write(t, filepath.Join(f.project, "Pulumi.dev.yaml"), "config: {}\n")
	url := "s3://state?endpoint=" + hungEndpoint(t) + "&disableSSL=true&s3ForcePathStyle=true&region=us-east-1"
	for _, args := range [][]string{{"restore", "dev"}, {"audit"}, {"ls"}, {"show", "dev"}, {"check"}} {
		start := time.Now()
		var out bytes.Buffer
		code, errs := f.runCtx(context.Background(), &out, append(args, "--backend", url, "--timeout", "300ms")...)
		took := time.Since(start)
		if code != exitError || !strings.HasPrefix(errs, "stacksync: timed out after 300ms (--timeout)") || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want 1 and the one timeout line", args, code, errs)
		}
		if took > 3*time.Second {
			t.Errorf("%v: took %v after a 300ms --timeout", args, took)
		}
	}
}

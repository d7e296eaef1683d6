package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/stacksync/stacksync/pkg/state/storetest"
)

const (
	kmsURL = "awskms://alias/pulumi_backend_software?region=us-west-2"
	kmsKey = "AQICAHjQyYllIFIL+lJwhAqA/TQKZ3jmdGF2HmcqJQ5vkG4uWAEcBPrCua2Z1i4oP8JTGgktAAAAfjB8BgkqhkiG9w0BBwagbzBtAgEAMGgGCSqGSIb3DQEHATAeBglghkgBZQMEAS4wEQQMnhBH6/o6orkQVF7rAgEQgDsnHSe9gjecN5kx+JCVXtqalGLVqVsHsOLDWepfoS+UpfrJc28qpYcRPyX7gOqaj5O/8ZHCayGtntj6VQ=="
	salt   = "v1:x1nOvBvBNdY=:v1:b+kgJAsOIAMDCrOy:gjZBW+D1Ugs3p81yZGXQFnHp+5pGsw=="
)

// cloudCheckpoint is the checkpoint of stack demo/<stack>, whose
// provider is kmsURL with the data key kmsKey.
func cloudCheckpoint(stack string) string {
	return auditCloudCheckpoint(stack, kmsURL, kmsKey)
}

// passphraseCheckpoint is the checkpoint of stack demo/<stack>, whose
// provider is a passphrase with salt.
func passphraseCheckpoint(stack string) string {
	return string(storetest.Checkpoint{Version: 3, Stack: "organization/demo/" + stack, Provider: storetest.Passphrase(salt)}.Build())
}

// fixture lays out a file:// backend and a project directory in a temp dir.
type fixture struct {
	root, backend, project string
}

func newFixture(t *testing.T, objects map[string]string) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{root: root, backend: filepath.Join(root, "backend"), project: filepath.Join(root, "project")}
	objects = maps.Clone(objects)
	objects[".pulumi/meta.yaml"] = "version: 1\n"
	for k, v := range objects {
		write(t, filepath.Join(f.backend, k), v)
	}
	write(t, filepath.Join(f.project, "Pulumi.yaml"), "name: demo\nruntime: yaml\n")
	return f
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, home: f.root, cwd: f.project}
	full := append([]string{}, args...)
	if len(args) > 0 && args[0] == "restore" {
		full = append(full, "--backend", "file://"+f.backend)
	}
	code = run(context.Background(), full, e)
	return code, out.String(), errb.String()
}

func (f *fixture) settings(t *testing.T, stack string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(f.project, "Pulumi."+stack+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestRestoreCreatesAndIsIdempotent(t *testing.T) {
	f := newFixture(t, map[string]string{
		".pulumi/stacks/demo/dev.json":  cloudCheckpoint("dev"),
		".pulumi/stacks/demo/prod.json": passphraseCheckpoint("prod"),
	})
	code, out, errs := f.run(t, "restore", "dev", "-s", "prod")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if want := "secretsprovider: " + kmsURL + "\nencryptedkey: " + kmsKey + "\n"; f.settings(t, "dev") != want {
		t.Errorf("dev settings:\n%s\nwant:\n%s", f.settings(t, "dev"), want)
	}
	if want := "encryptionsalt: " + salt + "\n"; f.settings(t, "prod") != want {
		t.Errorf("prod settings:\n%s\nwant:\n%s", f.settings(t, "prod"), want)
	}
	if !strings.Contains(out, "dev: created Pulumi.dev.yaml (awskms alias/pulumi_backend_software)") {
		t.Errorf("output %q lacks the dev line", out)
	}
	code, out, _ = f.run(t, "restore", "--all", "--check")
	if code != exitOK || strings.Count(out, "up to date") != 2 {
		t.Errorf("second run: exit %d, output %q; want 0 and two up-to-date lines", code, out)
	}
}

func TestRestoreKeepsConfig(t *testing.T) {
	f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev")})
	regenerated := "# keep me\nconfig:\n  demo:apikey:\n    secure: v1:abc\n  test:value: hello\n"
	write(t, filepath.Join(f.project, "Pulumi.dev.yaml"), regenerated)
	if code, _, errs := f.run(t, "restore", "dev"); code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	got := f.settings(t, "dev")
	if !strings.HasSuffix(got, regenerated) {
		t.Errorf("config block changed:\n%s", got)
	}
	if !strings.HasPrefix(got, "secretsprovider: "+kmsURL+"\nencryptedkey: "+kmsKey+"\n") {
		t.Errorf("fields not restored first:\n%s", got)
	}
}

func TestRestoreExitCodes(t *testing.T) {
	objects := map[string]string{
		".pulumi/stacks/demo/dev.json":      cloudCheckpoint("dev"),
		".pulumi/stacks/demo/future.json":   `{"version":9,"checkpoint":{}}`,
		".pulumi/stacks/demo/broken.json":   `{"version":3,"checkpoint":{"latest":{"secrets`,
		".pulumi/stacks/demo/bare.json":     `{"version":0,"checkpoint":{"stack":"organization/demo/bare"}}`,
		".pulumi/stacks/demo/gone.json.bak": cloudCheckpoint("gone"),
		".pulumi/stacks/demo/nosalt.json":   `{"version":3,"checkpoint":{"latest":{"secrets_providers":{"type":"passphrase","state":{}}}}}`,
	}
	tests := []struct {
		name     string
		args     []string
		settings string // existing Pulumi.dev.yaml, if any
		code     int
		stdout   string
		stderr   string
	}{
		{name: "no stacks", args: []string{"restore"}, code: exitUsage, stderr: "no stack given"},
		{name: "stacks and all", args: []string{"restore", "dev", "--all"}, code: exitUsage, stderr: "not both"},
		{name: "bad output", args: []string{"restore", "dev", "-o", "yaml"}, code: exitUsage, stderr: "want text or json"},
		{name: "bad flag", args: []string{"restore", "--nope"}, code: exitUsage, stderr: "unknown flag: --nope"},
		{name: "bad name", args: []string{"restore", ".."}, code: exitUsage, stderr: `".." is not a project or stack name`},
		{name: "other project", args: []string{"restore", "web/dev"}, code: exitUsage, stderr: "belongs to project web"},
		{name: "unknown command", args: []string{"restroe"}, code: exitUsage, stderr: "unknown command"},
		{name: "missing stack lists others", args: []string{"restore", "nope"}, code: exitMissing, stderr: "project demo has: bare, broken, dev, future, nosalt"},
		{name: "bak alone is not a stack", args: []string{"restore", "gone"}, code: exitMissing, stderr: "stack demo/gone not found"},
		{name: "missing-ok: a missing stack is a note", args: []string{"restore", "nope", "--missing-ok"}, code: exitOK, stdout: "nope: not in the backend yet; nothing to restore (--missing-ok)"},
		{name: "missing-ok: other errors still count", args: []string{"restore", "nope", "broken", "--missing-ok"}, code: exitError, stderr: "corrupt state"},
		{name: "missing and corrupt: the error wins", args: []string{"restore", "nope", "broken"}, code: exitError, stderr: "corrupt state"},
		{name: "missing-ok json", args: []string{"restore", "nope", "--missing-ok", "-o", "json"}, code: exitOK, stdout: `"action": "missing"`},
		{name: "unsupported version", args: []string{"restore", "future"}, code: exitError, stderr: "checkpoint version 9"},
		{name: "corrupt", args: []string{"restore", "broken"}, code: exitError, stderr: "corrupt state"},
		{name: "no provider", args: []string{"restore", "bare"}, code: exitError, stderr: "records no secrets provider"},
		{name: "passphrase without salt", args: []string{"restore", "nosalt"}, code: exitError, stderr: "passphrase secrets provider with no salt"},
		{name: "dot-dot in a reference", args: []string{"restore", "demo/../dev"}, code: exitUsage, stderr: `".." is not a project or stack name`},
		{name: "check finds work", args: []string{"restore", "dev", "--check"}, code: exitDrift, stdout: "dev: would be created"},
		{name: "dry run diff", args: []string{"restore", "dev", "--dry-run"}, code: exitOK, stdout: "+secretsprovider: " + kmsURL},
		{name: "conflict", args: []string{"restore", "dev"}, settings: "encryptionsalt: v1:fresh\nconfig:\n  demo:x:\n    secure: v1:y\n", code: exitConflict, stdout: "1 secure config value"},
		{name: "conflict check", args: []string{"restore", "dev", "--check"}, settings: "encryptionsalt: v1:fresh\n", code: exitDrift, stdout: "conflict"},
		{name: "force", args: []string{"restore", "dev", "--force"}, settings: "encryptionsalt: v1:fresh\n", code: exitOK, stdout: "dev: updated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, objects)
			path := filepath.Join(f.project, "Pulumi.dev.yaml")
			if tt.settings != "" {
				write(t, path, tt.settings)
			}
			code, out, errs := f.run(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stdout %q stderr %q", code, tt.code, out, errs)
			}
			if !strings.Contains(out, tt.stdout) || !strings.Contains(errs, tt.stderr) {
				t.Errorf("stdout %q (want %q), stderr %q (want %q)", out, tt.stdout, errs, tt.stderr)
			}
			if strings.Count(strings.TrimSpace(errs), "\n") >= strings.Count(strings.Join(tt.args, " "), " ") && tt.code != exitUsage {
				t.Errorf("error is more than one line: %q", errs)
			}
			// Nothing but a successful, forced or plain restore may touch
			// the settings file.
			data, err := os.ReadFile(path)
			switch {
			case tt.code == exitOK && !strings.Contains(strings.Join(tt.args, " "), "--dry-run") && !strings.Contains(strings.Join(tt.args, " "), "--missing-ok"):
				if err != nil {
					t.Errorf("settings file not written: %v", err)
				}
			case tt.settings == "":
				if err == nil {
					t.Errorf("settings file written: %q", data)
				}
			default:
				if string(data) != tt.settings {
					t.Errorf("settings file changed to %q", data)
				}
			}
		})
	}
}

func TestRestoreFromBackup(t *testing.T) {
	f := newFixture(t, map[string]string{
		".pulumi/stacks/demo/dev.json":                          `{"version":3,"checkpoint":{"stack":"organization/demo/dev","latest":{"manifest":{},"metadata":{}}}}`,
		".pulumi/backups/demo/dev/dev.1700000000000000000.json": passphraseCheckpoint("dev"),
		".pulumi/backups/demo/dev/dev.1800000000000000000.json": cloudCheckpoint("dev"),
	})
	code, out, errs := f.run(t, "restore", "dev")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "from backup") || !strings.Contains(out, "dev.1800000000000000000.json") {
		t.Errorf("output does not name the backup: %q", out)
	}
	if !strings.HasPrefix(f.settings(t, "dev"), "secretsprovider: "+kmsURL) {
		t.Errorf("settings not from the newest backup: %q", f.settings(t, "dev"))
	}
}

func TestRestoreJSON(t *testing.T) {
	f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev")})
	write(t, filepath.Join(f.project, "Pulumi.dev.yaml"), "config:\n  demo:password: hunter2\n")
	code, out, _ := f.run(t, "restore", "dev", "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var rs []map[string]any
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if len(rs) != 1 || rs[0]["stack"] != "dev" || rs[0]["action"] != "updated" || rs[0]["provider"] != "awskms" || rs[0]["key"] != "alias/pulumi_backend_software" {
		t.Errorf("unexpected result %v", rs)
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("a config value was printed: %s", out)
	}
}

func TestUnifiedDiff(t *testing.T) {
	got := unifiedDiff("P.yaml", []byte("config:\n  a: b\n"), []byte("secretsprovider: x\nconfig:\n  a: b\n"))
	want := "--- a/P.yaml\n+++ b/P.yaml\n@@ -0,0 +1 @@\n+secretsprovider: x\n"
	if got != want {
		t.Errorf("diff:\n%s\nwant:\n%s", got, want)
	}
	got = unifiedDiff("P.yaml", []byte("encryptionsalt: s\nconfig:\n  a: b\n"), []byte("secretsprovider: x\nencryptedkey: k\nconfig:\n  a: b\n"))
	want = "--- a/P.yaml\n+++ b/P.yaml\n@@ -1 +1,2 @@\n-encryptionsalt: s\n+secretsprovider: x\n+encryptedkey: k\n"
	if got != want {
		t.Errorf("diff:\n%s\nwant:\n%s", got, want)
	}
}

// TestUnifiedDiffLarge: a change in the middle of a large file is
// placed by its line number, in time and memory linear in the file (the
// old table was lines squared: a 50 MB file took minutes).
func TestUnifiedDiffLarge(t *testing.T) {
	var a strings.Builder
	for i := range 200000 {
		fmt.Fprintf(&a, "  k%d: v\n", i)
	}
	before := "config:\n" + a.String()
	after := "secretsprovider: x\n" + before
	got := unifiedDiff("P.yaml", []byte(before), []byte(after))
	want := "--- a/P.yaml\n+++ b/P.yaml\n@@ -0,0 +1 @@\n+secretsprovider: x\n"
	if got != want {
		t.Errorf("diff:\n%s\nwant:\n%s", got, want)
	}
	mid := strings.Replace(before, "  k100000: v\n", "encryptionsalt: s\n", 1)
	got = unifiedDiff("P.yaml", []byte(before), []byte(mid))
	if !strings.Contains(got, "@@ -100002 +100002 @@\n") {
		t.Errorf("a change at line 100002 is shown as:\n%s", got)
	}
	// Files that differ everywhere are summarised, not tabulated.
	got = unifiedDiff("P.yaml", []byte(before), []byte(strings.ReplaceAll(before, ": v", ": w")))
	if !strings.Contains(got, "too many to show") {
		t.Errorf("a whole-file change is shown as:\n%.300s", got)
	}
}

func TestHelpExitsZero(t *testing.T) {
	f := newFixture(t, map[string]string{})
	for _, cmd := range []string{"restore", "verify", "audit", "ls", "show", "check"} {
		for _, h := range []string{"-h", "--help"} {
			code, out, errs := f.run(t, cmd, h)
			if code != exitOK || !strings.Contains(out, "Usage:\n  stacksync "+cmd) || !strings.Contains(out, "--timeout DURATION") || errs != "" {
				t.Errorf("%s %s: exit %d, stdout %.300q, stderr %q; want 0 and the flags", cmd, h, code, out, errs)
			}
		}
	}
}

// TestRestoreHelp: restore's help reads like the pulumi CLI's: a
// description, shorthands beside their flags, and examples.
func TestRestoreHelp(t *testing.T) {
	f := newFixture(t, map[string]string{})
	code, out, _ := f.run(t, "restore", "--help")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"Restore writes secretsprovider",
		"Usage:\n  stacksync restore [STACK]... [flags]",
		"Examples:\n  # Restore Pulumi.dev.yaml",
		"stacksync restore -C infra --backend s3://my-pulumi-state?region=us-west-2 -s dev --missing-ok",
		"-s, --stack NAME",
		"-C, --cwd DIR",
		"-o, --output FORMAT",
		"--missing-ok",
		"--timeout DURATION",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("restore --help lacks %q:\n%s", want, out)
		}
	}
	if _, out, _ := f.run(t, "audit", "-h"); !strings.Contains(out, "-j, --jobs N") || !strings.Contains(out, "--history ") {
		t.Errorf("audit -h lacks -j, --jobs N or --history:\n%s", out)
	}
}

// TestArgsAnywhere: flags and positional arguments mix in any order, as
// users of pulumi expect ("restore dev --check"), and "--" ends the flags.
func TestArgsAnywhere(t *testing.T) {
	tests := []struct {
		args   []string
		pos    []string
		output string
	}{
		{[]string{"dev", "-o", "json"}, []string{"dev"}, "json"},
		{[]string{"-o", "json", "dev", "prod"}, []string{"dev", "prod"}, "json"},
		{[]string{"dev", "--", "-o", "json"}, []string{"dev", "-o", "json"}, "text"},
		{[]string{"--", "dev"}, []string{"dev"}, "text"},
		{[]string{"--output=json", "dev"}, []string{"dev"}, "json"},
		{[]string{}, nil, "text"},
	}
	for _, tt := range tests {
		var pos []string
		var output string
		code := -1
		cmd := newCommand("test", "", "", "", func(_ *cobra.Command, args []string) int { pos = args; return exitOK }, &code)
		addOutput(cmd.Flags(), &output, "text", "text or json")
		cmd.SetArgs(tt.args)
		err := cmd.Execute()
		if err != nil || code != exitOK || strings.Join(pos, " ") != strings.Join(tt.pos, " ") || output != tt.output {
			t.Errorf("%q: args %q, -o %q, %v; want %q, -o %q", tt.args, pos, output, err, tt.pos, tt.output)
		}
	}
}

func TestRestoreNamesEachStackOnce(t *testing.T) {
	f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev")})
	code, out, errs := f.run(t, "restore", "dev", "-s", "dev", "demo/dev", "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rs []map[string]any
	if err := json.Unmarshal([]byte(out), &rs); err != nil || len(rs) != 1 {
		t.Errorf("results %s (%v); want one for dev", out, err)
	}
}

// A mistyped -C must not restore into a project found above the cwd.
func TestRestoreMissingCwd(t *testing.T) {
	f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev")})
	code, _, errs := f.run(t, "restore", "-C", "does-not-exist", "dev")
	if code != exitUsage || !strings.Contains(errs, "does-not-exist: no such directory") {
		t.Errorf("exit %d, stderr %q; want 2 naming the directory", code, errs)
	}
	if _, err := os.Stat(filepath.Join(f.project, "Pulumi.dev.yaml")); err == nil {
		t.Error("a settings file was written in the project above")
	}
}

// Outside any project, restore says which flag names one: the library's
// error names none.
func TestRestoreNoProjectHint(t *testing.T) {
	f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev")})
	empty := t.TempDir()
	code, _, errs := f.run(t, "restore", "-C", empty, "dev")
	if code != exitError || !strings.Contains(errs, "no Pulumi project file") || !strings.Contains(errs, empty) || !strings.Contains(errs, "pass -C <project dir>") {
		t.Errorf("exit %d, stderr %q; want 1 naming %s and suggesting -C", code, errs, empty)
	}
}

// With no backend named anywhere, the CLI names its flag; the library's
// error names pulumi's variable and login only.
func TestNoBackendHint(t *testing.T) {
	f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev")})
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, home: t.TempDir(), cwd: f.project}
	code := run(context.Background(), []string{"ls"}, e)
	if code != exitError || !strings.Contains(errb.String(), "no backend URL: PULUMI_BACKEND_URL is not set") || !strings.HasSuffix(errb.String(), "; pass --backend URL or set PULUMI_BACKEND_URL\n") {
		t.Errorf("exit %d, stderr %q; want 1 and the hint naming --backend", code, errb.String())
	}
}

// --dry-run shows the provider lines but never a line holding config,
// even when the whole file is one line of JSON.
func TestDryRunHidesConfig(t *testing.T) {
	f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev")})
	if err := os.Remove(filepath.Join(f.project, "Pulumi.yaml")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(f.project, "Pulumi.json"), `{"name": "demo", "runtime": "yaml"}`)
	one := `{"config":{"demo:dbhost":"db.internal.example","demo:pw":{"secure":"v1:abc"}}}`
	write(t, filepath.Join(f.project, "Pulumi.dev.json"), one)
	code, out, errs := f.run(t, "restore", "dev", "--dry-run")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if strings.Contains(out, "db.internal.example") || strings.Contains(out, "v1:abc") {
		t.Errorf("the dry run printed config values:\n%s", out)
	}
	if !strings.Contains(out, "-(a line holding other settings, not shown)") {
		t.Errorf("the changed one-line file is not shown as a placeholder:\n%s", out)
	}
	if got, _ := os.ReadFile(filepath.Join(f.project, "Pulumi.dev.json")); string(got) != one {
		t.Errorf("the dry run wrote the file: %s", got)
	}
}

func TestRestoreJSONSaysWhetherItWrote(t *testing.T) {
	f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev")})
	for _, tc := range []struct {
		args    []string
		action  string
		written bool
	}{
		{[]string{"--check"}, "created", false},
		{nil, "created", true},
		{nil, "unchanged", false},
	} {
		code, out, _ := f.run(t, append([]string{"restore", "dev", "-o", "json"}, tc.args...)...)
		var rs []map[string]any
		if err := json.Unmarshal([]byte(out), &rs); err != nil || len(rs) != 1 {
			t.Fatalf("exit %d, output %s", code, out)
		}
		if rs[0]["action"] != tc.action || rs[0]["written"] != tc.written {
			t.Errorf("restore %v: action %v written %v, want %s %v", tc.args, rs[0]["action"], rs[0]["written"], tc.action, tc.written)
		}
	}
}

// A damaged meta.yaml is reported as such, without the remedy for a
// damaged checkpoint (put back its .bak), which would send the user to
// the wrong file.
func TestRestoreBrokenMetaIsNotACheckpoint(t *testing.T) {
	for _, meta := range []string{strings.Repeat("# pad\n", 12000) + "version: 1\n", "nothing: here\n"} {
		f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev")})
		write(t, filepath.Join(f.backend, ".pulumi", "meta.yaml"), meta)
		code, _, errs := f.run(t, "restore", "dev")
		if code != exitError || !strings.Contains(errs, "meta.yaml") || strings.Contains(errs, "checkpoint is damaged") {
			t.Errorf("meta.yaml of %d bytes: exit %d, stderr %q; want 1 and a message about meta.yaml alone", len(meta), code, errs)
		}
	}
}

// TestMaxCheckpointSize: STACKSYNC_MAX_CHECKPOINT_SIZE lowers (or raises)
// the decode cap, and the too-large error says how to raise it.
func TestMaxCheckpointSize(t *testing.T) {
	f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev")})
	var errb bytes.Buffer
	e := &env{stdout: io.Discard, stderr: &errb, home: f.root, cwd: f.project, getenv: func(k string) string {
		if k == maxCheckpointEnv {
			return "100"
		}
		return ""
	}}
	code := run(context.Background(), []string{"restore", "dev", "--backend", "file://" + f.backend}, e)
	errs := errb.String()
	if code != exitError || !strings.Contains(errs, "checkpoint too large") || !strings.Contains(errs, maxCheckpointEnv) {
		t.Errorf("restore with a 100-byte cap: exit %d, stderr %q", code, errs)
	}
	for v, want := range map[string]int64{"": 0, "1024": 1024, "2KiB": 2048, "512 MiB": 512 << 20, "1GiB": 1 << 30} {
		got, err := maxCheckpointSize(&env{getenv: func(string) string { return v }})
		if err != nil || got != want {
			t.Errorf("maxCheckpointSize(%q) = %d, %v; want %d", v, got, err, want)
		}
	}
	for _, v := range []string{"-1", "0", "lots", "9999999999GiB"} {
		if _, err := maxCheckpointSize(&env{getenv: func(string) string { return v }}); err == nil {
			t.Errorf("maxCheckpointSize(%q) accepted", v)
		}
	}
}

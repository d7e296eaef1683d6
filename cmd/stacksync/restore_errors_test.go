package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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

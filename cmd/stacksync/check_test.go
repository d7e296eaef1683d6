package main

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// A directory that cannot be walked is one finding among the others; it
// does not hide what check found elsewhere.
func TestCheckGoesOnPastABadDirectory(t *testing.T) {
	f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev")})
	write(t, filepath.Join(f.project, "Pulumi.dev.yaml"), "config:\n  demo:x: y\n")
	missing := filepath.Join(f.root, "nope")
	code, out, errs := f.run(t, "check", f.project, missing, "--backend", "file://"+f.backend)
	if code != exitError {
		t.Errorf("exit %d, want 1 (an error beats drift)", code)
	}
	if !strings.Contains(out, "Pulumi.dev.yaml: missing-fields: lacks secretsprovider, encryptedkey") {
		t.Errorf("the project's finding is missing:\n%s\nstderr: %s", out, errs)
	}
	if !strings.Contains(out, missing+"/: error: find Pulumi projects under "+missing) {
		t.Errorf("the bad directory is not reported:\n%s", out)
	}
}

func TestCheck(t *testing.T) {
	backend := map[string]string{
		".pulumi/stacks/demo/dev.json":   cloudCheckpoint("dev"),
		".pulumi/stacks/demo/prod.json":  cloudCheckpoint("prod"),
		".pulumi/stacks/demo/stage.json": passphraseCheckpoint("stage"),
		".pulumi/stacks/demo/extra.json": passphraseCheckpoint("extra"),
		".pulumi/stacks/web/api.json":    passphraseCheckpoint("api"),
	}
	good := "secretsprovider: " + kmsURL + "\nencryptedkey: " + kmsKey + "\nconfig:\n  demo:x: y\n"
	tests := []struct {
		name   string
		files  map[string]string // settings files in the project dir
		args   []string
		code   int
		status map[string]string // stack → status
	}{
		{"ok", map[string]string{"dev": good}, nil, exitOK, map[string]string{"dev": "ok"}},
		{"ok passphrase", map[string]string{"stage": "encryptionsalt: " + salt + "\n"}, nil, exitOK, map[string]string{"stage": "ok"}},
		{"differs", map[string]string{"dev": good, "prod": "secretsprovider: " + kmsURL + "\nencryptedkey: b3RoZXI=\n"}, nil, exitDrift,
			map[string]string{"dev": "ok", "prod": "differs"}},
		{"differs provider", map[string]string{"stage": "secretsprovider: " + auditOtherURL + "\nencryptedkey: b3RoZXI=\n"}, nil, exitDrift,
			map[string]string{"stage": "differs"}},
		{"missing fields", map[string]string{"stage": "config:\n  demo:x: y\n"}, nil, exitDrift, map[string]string{"stage": "missing-fields"}},
		{"no stack", map[string]string{"dev": good, "ghost": "config: {}\n"}, nil, exitDrift, map[string]string{"dev": "ok", "ghost": "no-stack"}},
		{"all stacks", map[string]string{"dev": good}, []string{"--all-stacks"}, exitDrift,
			map[string]string{"dev": "ok", "prod": "no-file", "stage": "no-file", "extra": "no-file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, backend)
			before := map[string]string{}
			for stack, content := range tt.files {
				write(t, filepath.Join(f.project, "Pulumi."+stack+".yaml"), content)
				before[stack] = content
			}
			code, out, errs := auditRun(t, f, append([]string{"check", "-o", "json"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s\n%s", code, tt.code, out, errs)
			}
			var findings []struct {
				Project, Stack, File, Status, Detail string
			}
			if err := json.Unmarshal([]byte(out), &findings); err != nil {
				t.Fatalf("check -o json: %v\n%s", err, out)
			}
			got := map[string]string{}
			for _, fd := range findings {
				if fd.Project != "demo" {
					t.Errorf("finding of project %q: %+v", fd.Project, fd)
				}
				got[fd.Stack] = fd.Status
			}
			if !reflect.DeepEqual(got, tt.status) {
				t.Errorf("statuses %v, want %v\n%s", got, tt.status, out)
			}
			// Text output says the same and exits the same.
			code2, text, _ := auditRun(t, f, append([]string{"check"}, tt.args...)...)
			if code2 != code {
				t.Errorf("text exit %d, json exit %d", code2, code)
			}
			for stack, status := range tt.status {
				if !strings.Contains(text, ": "+status) || !strings.Contains(text, stack) {
					t.Errorf("text output lacks %s: %s:\n%s", stack, status, text)
				}
			}
			// check never writes.
			for stack, content := range before {
				if got := readSettings(t, f, stack); got != content {
					t.Errorf("check changed Pulumi.%s.yaml to %q", stack, got)
				}
			}
		})
	}
}

func readSettings(t *testing.T, f *fixture, stack string) string {
	t.Helper()
	return f.settings(t, stack)
}

// check walks the given directories for projects, and a directory with no
// project is an error.
func TestCheckDirs(t *testing.T) {
	f := newFixture(t, map[string]string{
		".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev"),
		".pulumi/stacks/web/api.json":  passphraseCheckpoint("api"),
	})
	write(t, filepath.Join(f.project, "Pulumi.dev.yaml"), "secretsprovider: "+kmsURL+"\nencryptedkey: "+kmsKey+"\n")
	web := filepath.Join(f.root, "repo", "services", "web")
	write(t, filepath.Join(web, "Pulumi.yaml"), "name: web\nruntime: yaml\n")
	write(t, filepath.Join(web, "Pulumi.api.yaml"), "config: {}\n")
	write(t, filepath.Join(f.root, "repo", "node_modules", "x", "Pulumi.yaml"), "name: ignored\nruntime: yaml\n")

	code, out, errs := auditRun(t, f, "check", ".", filepath.Join(f.root, "repo"))
	if code != exitDrift || !strings.Contains(out, "Pulumi.dev.yaml: ok") || !strings.Contains(out, "missing-fields") || strings.Contains(out, "ignored") {
		t.Errorf("check two dirs: exit %d\n%s\n%s", code, out, errs)
	}
	empty := filepath.Join(f.root, "empty")
	write(t, filepath.Join(empty, "README"), "x")
	if code, _, errs := auditRun(t, f, "check", empty); code != exitError || !strings.Contains(errs, "no Pulumi project") {
		t.Errorf("check of a dir with no project: exit %d, %q", code, errs)
	}
}

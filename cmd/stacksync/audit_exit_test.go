package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/pkg/state/storetest"
)

func TestAuditExitCodes(t *testing.T) {
	clean := map[string]string{
		".pulumi/stacks/demo/dev.json":  cloudCheckpoint("dev"),
		".pulumi/stacks/demo/prod.json": passphraseCheckpoint("prod"),
		".pulumi/stacks/demo/bare.json": `{"version":0,"checkpoint":{"stack":"organization/demo/bare"}}`,
	}
	kmsOnly := map[string]string{".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev")}
	withBroken := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for a, b := range clean {
			m[a] = b
		}
		return m
	}
	tests := []struct {
		name    string
		objects map[string]string
		args    []string
		code    int
		stdout  string
		stderr  string
	}{
		{"clean", clean, nil, exitOK, "3 stacks", ""},
		{"fail-on passphrase,none", clean, []string{"--fail-on", "passphrase,none"}, exitDrift, "passphrase 1, none 1", ""},
		{"fail-on with spaces", clean, []string{"--fail-on", "none, passphrase"}, exitDrift, "", ""},
		{"fail-on none only", clean, []string{"--fail-on=none"}, exitDrift, "", ""},
		{"fail-on matches nothing", clean, []string{"--fail-on", "gcpkms,azurekeyvault,hashivault,service,unknown"}, exitOK, "", ""},
		{"fail-on passphrase,none on kms only", kmsOnly, []string{"--fail-on", "passphrase,none"}, exitOK, "1 stack: awskms 1", ""},
		{"fail-on json", clean, []string{"--fail-on", "awskms", "-o", "json"}, exitDrift, `"stacks"`, ""},
		{"fail-on unknown name", clean, []string{"--fail-on", "passphrase,kms"}, exitUsage, "", `unknown provider "kms"`},
		{"fail-on empty item", clean, []string{"--fail-on", "passphrase,"}, exitUsage, "", "unknown provider"},
		{"bad output", clean, []string{"-o", "yaml"}, exitUsage, "", "want table, json or csv"},
		{"bad jobs", clean, []string{"-j", "0"}, exitUsage, "", "-j"},
		{"positional", clean, []string{"dev"}, exitUsage, "", "unexpected argument"},
		{"bad project", clean, []string{"--project", "../x"}, exitError, "", "project name"},
		{"jobs 1", clean, []string{"-j", "1"}, exitOK, "3 stacks", ""},
		{"project with no stacks fails the gate", clean, []string{"--project", "other", "--fail-on", "passphrase"}, exitError, "0 stacks", "no stacks found in backend"},
		{"corrupt stack", withBroken(".pulumi/stacks/demo/broken.json", `{"version":3,"checkpoint":{"latest":{"secrets`), nil, exitError, "4 stacks", ""},
		{"corrupt stack json", withBroken(".pulumi/stacks/demo/broken.json", `{"version":3,"checkpoint":{"latest":{"secrets`), []string{"-o", "json"}, exitError, `"error": "`, ""},
		{"unreadable yaml stack", withBroken(".pulumi/stacks/demo/old.yaml", "version: 3\n"), nil, exitError, "1 unreadable", ""},
		{"future version", withBroken(".pulumi/stacks/demo/new.json", `{"version":9,"checkpoint":{}}`), nil, exitError, "checkpoint version 9", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.objects)
			code, out, errs := auditRun(t, f, append([]string{"audit"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errs)
			}
			if !strings.Contains(out, tt.stdout) || !strings.Contains(errs, tt.stderr) {
				t.Errorf("stdout %q (want %q), stderr %q (want %q)", out, tt.stdout, errs, tt.stderr)
			}
		})
	}
}

// An unreadable stack is reported and the audit goes on: every other stack
// is still classified.
func TestAuditGoesOnAfterError(t *testing.T) {
	f := newFixture(t, map[string]string{
		".pulumi/stacks/demo/a.json":      cloudCheckpoint("a"),
		".pulumi/stacks/demo/b.json":      `{"version":3,"checkpoint":`,
		".pulumi/stacks/demo/c.json.gz":   "\x1f\x8b\x08 not really gzip",
		".pulumi/stacks/demo/d.json":      passphraseCheckpoint("d"),
		".pulumi/stacks/demo/e.yml":       "x: 1\n",
		".pulumi/stacks/demo/f.json.zst":  string(storetest.Zstd(t, []byte(passphraseCheckpoint("f")))),
		".pulumi/stacks/demo/f.json.json": "ignored",
	})
	code, out, _ := auditRun(t, f, "audit", "-o", "json", "-j", "2")
	if code != exitError {
		t.Errorf("exit %d, want 1", code)
	}
	o := decodeAuditJSON(t, out)
	got := map[string]string{}
	for _, s := range o.Stacks {
		p := str(s["provider"])
		if str(s["error"]) != "" {
			p += " (error)"
		}
		got[str(s["stack"])] = p
	}
	want := map[string]string{"a": "awskms", "b": "unknown (error)", "c": "unknown (error)", "d": "passphrase",
		"e": "unknown (error)", "f": "passphrase", "f.json": "unknown (error)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stacks %v, want %v", got, want)
	}
	if o.Summary["errors"] != 4.0 {
		t.Errorf("summary %v, want 4 errors", o.Summary)
	}
}

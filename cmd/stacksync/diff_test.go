package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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

// TestProviderEntry: only a line that is one provider key and its value is
// shown; a line that also holds config never is, whatever the format.
func TestProviderEntry(t *testing.T) {
	for _, tt := range []struct {
		line string
		want bool
	}{
		{"encryptionsalt: v1:abc", true},
		{"  secretsprovider: awskms://alias/x?region=us-west-2", true},
		{`  "encryptionsalt": "v1:abc",`, true},
		{`{"encryptionsalt": "v1:abc"}`, true},
		{`{"secretsprovider":"awskms://k","encryptedkey":"AQID"}`, false},
		{`{"encryptionsalt": "v1:abc", "config": {"demo:pw": "plain"}}`, false},
		{`"encryptionsalt": "v1:abc", "config": {"demo:pw": "plain"}`, false},
		{`"encryptionsalt": "v1:\"abc", "x": 1`, false},
		{`"encryptionsalt": 5`, false},
		{"config:", false},
		{"  demo:pw: plain", false},
		{`"encryptionsaltx": "v1"`, false},
	} {
		if got := providerEntry(tt.line); got != tt.want {
			t.Errorf("providerEntry(%q) = %v, want %v", tt.line, got, tt.want)
		}
	}
}

// A JSON settings file whose salt line also holds config: --dry-run
// shows the change as placeholders, never the config beside the salt.
func TestDryRunHidesConfigBesideSalt(t *testing.T) {
	f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": passphraseCheckpoint("dev")})
	if err := os.Remove(filepath.Join(f.project, "Pulumi.yaml")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(f.project, "Pulumi.json"), `{"name": "demo", "runtime": "yaml"}`)
	write(t, filepath.Join(f.project, "Pulumi.dev.json"), "{\n  \"encryptionsalt\": \"v1:old=\", \"config\": {\"demo:dbhost\": \"db.internal.example\"}\n}\n")
	code, out, errs := f.run(t, "restore", "dev", "--dry-run", "--force")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if strings.Contains(out, "db.internal.example") {
		t.Errorf("the dry run printed a config value:\n%s", out)
	}
	if !strings.Contains(out, "-(a line holding other settings, not shown)") {
		t.Errorf("the changed line is not a placeholder:\n%s", out)
	}
}

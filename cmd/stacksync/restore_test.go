package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

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

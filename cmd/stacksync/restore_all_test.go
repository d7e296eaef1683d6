package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// restore --all restores the project's stacks and passes over a stack
// file left in the legacy location of a project-mode backend: it belongs
// to no project, so to no settings file of this one.
func TestRestoreAllSkipsStrayLegacyStack(t *testing.T) {
	f := newFixture(t, map[string]string{
		".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev"),
		".pulumi/stacks/stray.json":    passphraseCheckpoint("stray"),
	})
	code, out, errs := f.run(t, "restore", "--all")
	if code != exitOK {
		t.Fatalf("exit %d, want 0; stdout %q stderr %q", code, out, errs)
	}
	if !strings.Contains(out, "dev: created Pulumi.dev.yaml") {
		t.Errorf("dev not restored: %q", out)
	}
	if strings.Contains(out+errs, "stray") {
		t.Errorf("the legacy stack was touched: stdout %q stderr %q", out, errs)
	}
	if _, err := os.Stat(filepath.Join(f.project, "Pulumi.stray.yaml")); err == nil {
		t.Error("a settings file was written for the legacy stack")
	}
}

// A secrets provider type pulumi does not know is refused: without the
// check, Edit would find nothing to set and a missing file would be
// reported "up to date" with exit 0.
func TestRestoreRefusesUnknownProviderType(t *testing.T) {
	unknown := `{"version":3,"checkpoint":{"stack":"organization/demo/dev","latest":{"manifest":{},"secrets_providers":{"type":"vault","state":{"url":"vault://x"}},"metadata":{}}}}`
	for _, args := range [][]string{{"restore", "dev"}, {"restore", "--all"}, {"restore", "dev", "--check"}} {
		f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": unknown})
		code, out, errs := f.run(t, args...)
		if code != exitError {
			t.Errorf("%v: exit %d, want 1; stdout %q stderr %q", args, code, out, errs)
		}
		if !strings.Contains(errs, `records secrets provider type "vault", which pulumi does not know`) {
			t.Errorf("%v: stderr %q does not name the unknown type", args, errs)
		}
		if strings.Contains(out, "up to date") {
			t.Errorf("%v: stdout %q says up to date", args, out)
		}
		if _, err := os.Stat(filepath.Join(f.project, "Pulumi.dev.yaml")); err == nil {
			t.Errorf("%v: a settings file was written", args)
		}
	}
}

// A stack with a lock file restores with a warning on stderr, both alone
// (a listing of its lock directory) and under --all (one listing of all
// locks); a stack without one gets no warning.
func TestRestoreWarnsOfALock(t *testing.T) {
	objects := map[string]string{
		".pulumi/stacks/demo/dev.json":                           cloudCheckpoint("dev"),
		".pulumi/stacks/demo/prod.json":                          passphraseCheckpoint("prod"),
		".pulumi/locks/organization/demo/dev/0b6e8c2a-11.json":   auditLock,
		".pulumi/locks/organization/other/prod/0b6e8c2a-22.json": auditLock,
	}
	for _, args := range [][]string{{"restore", "dev"}, {"restore", "--all"}, {"restore", "dev", "prod"}} {
		f := newFixture(t, objects)
		code, _, errs := f.run(t, args...)
		if code != exitOK {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
		want := "stacksync: warning: stack dev has a lock file; an update may be running"
		if !strings.Contains(errs, want) {
			t.Errorf("%v: stderr %q lacks %q", args, errs, want)
		}
		if strings.Contains(errs, "stack prod has a lock") {
			t.Errorf("%v: prod warned of another project's lock: %q", args, errs)
		}
	}
}

// A stack in the legacy layout restores with a warning that pulumi v3.274+
// refuses that layout.
func TestRestoreWarnsOfTheLegacyLayout(t *testing.T) {
	f := newFixture(t, map[string]string{
		".pulumi/stacks/dev.json":  cloudCheckpoint("dev"),
		".pulumi/stacks/prod.json": passphraseCheckpoint("prod"),
		".pulumi/locks/dev/x.json": auditLock,
	})
	// meta.yaml version 0: the legacy layout.
	write(t, filepath.Join(f.backend, ".pulumi", "meta.yaml"), "version: 0\n")
	for _, args := range [][]string{{"restore", "dev"}, {"restore", "--all"}} {
		code, _, errs := f.run(t, args...)
		if code != exitOK {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
		for _, want := range []string{
			"stacksync: warning: stack dev is in the legacy (non-project) layout",
			"stacksync: warning: stack dev has a lock file",
		} {
			if !strings.Contains(errs, want) {
				t.Errorf("%v: stderr %q lacks %q", args, errs, want)
			}
		}
		if strings.Contains(errs, "stack prod has a lock") {
			t.Errorf("%v: prod warned of dev's lock: %q", args, errs)
		}
	}
}

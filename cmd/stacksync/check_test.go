package main

import (
	"path/filepath"
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

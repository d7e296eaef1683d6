//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A settings file that is a FIFO or a directory is a finding with the
// reason, never skipped in silence, and check does not block on the FIFO.
func TestCheckReportsSpecialSettingsFiles(t *testing.T) {
	f := newFixture(t, map[string]string{
		".pulumi/stacks/demo/dev.json":  cloudCheckpoint("dev"),
		".pulumi/stacks/demo/fifo.json": cloudCheckpoint("fifo"),
		".pulumi/stacks/demo/dir.json":  cloudCheckpoint("dir"),
	})
	if err := syscall.Mkfifo(filepath.Join(f.project, "Pulumi.fifo.yaml"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := os.Mkdir(filepath.Join(f.project, "Pulumi.dir.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, errs := f.run(t, "check", "--backend", "file://"+f.backend)
	if code != exitError {
		t.Errorf("exit %d, want 1; stderr %q", code, errs)
	}
	for _, want := range []string{"Pulumi.fifo.yaml: error: ", "named pipe", "Pulumi.dir.yaml: error: ", "directory"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout %q lacks %q", out, want)
		}
	}
}

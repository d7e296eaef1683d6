//go:build unix

package settings

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWriteFileKeepsMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Pulumi.dev.yaml")
	if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(path, []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	if got := readFile(t, path); got != "new\n" {
		t.Errorf("content = %q", got)
	}
	if names := dirNames(t, dir); strings.Join(names, ",") != "Pulumi.dev.yaml" {
		t.Errorf("directory holds %q; want only the file", names)
	}
}

func TestWriteFileNewFileMode(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, "Pulumi.dev.yaml")
	if err := writeFile(path, []byte("x: 1\n")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644", fi.Mode().Perm())
	}
	if names := dirNames(t, dir); strings.Join(names, ",") != "Pulumi.dev.yaml" {
		t.Errorf("directory holds %q; want only the file", names)
	}
}

// makeReadOnly makes path refuse writes: chmod 0444/0555 for a normal user,
// the immutable attribute for root (whom permission bits do not stop).
func makeReadOnly(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() != 0 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o444)
		if fi.IsDir() {
			mode = 0o555
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(path, 0o755) })
		return
	}
	if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
		t.Skipf("cannot make %s read-only for root: chattr +i: %v %s", path, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("chattr", "-i", path).Run() })
}

// A file pulumi could not write is not replaced behind its back, even though
// the directory would allow the rename.
func TestWriteFileRefusesReadOnlyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Pulumi.dev.yaml")
	if err := os.WriteFile(path, []byte("config: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	makeReadOnly(t, path)
	err := writeFile(path, []byte("encryptionsalt: v1:x\nconfig: {}\n"))
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not writable") {
		t.Fatalf("writeFile of a read-only file: %v; want an error naming it", err)
	}
	if got := readFile(t, path); got != "config: {}\n" {
		t.Errorf("read-only file changed to %q", got)
	}
}

// A directory that cannot take the temporary file: the error says so, and
// not just the temporary file's name.
func TestWriteFileReadOnlyDir(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Pulumi.dev.yaml")
	if err := os.WriteFile(path, []byte("config: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	makeReadOnly(t, dir)
	err := writeFile(path, []byte("encryptionsalt: v1:x\nconfig: {}\n"))
	if err == nil || !strings.Contains(err.Error(), "directory "+dir+" is not writable") {
		t.Fatalf("writeFile in a read-only directory: %v", err)
	}
	if got := readFile(t, path); got != "config: {}\n" {
		t.Errorf("file changed to %q", got)
	}
}

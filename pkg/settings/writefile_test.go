//go:build unix

package settings

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dirNames lists a directory, to spot leftover temporary files.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteFileKeepsMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Pulumi.dev.yaml")
	if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new\n")); err != nil {
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
	if err := WriteFile(path, []byte("x: 1\n")); err != nil {
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

func TestWriteFileSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real", "Pulumi.dev.yaml")
	if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "Pulumi.dev.yaml")
	if err := os.Symlink(filepath.Join("real", "Pulumi.dev.yaml"), link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(link, []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("link is no longer a symlink: %v, %v", fi, err)
	}
	if got := readFile(t, real); got != "new\n" {
		t.Errorf("target content = %q, want new", got)
	}
	if fi, _ := os.Stat(real); fi.Mode().Perm() != 0o640 {
		t.Errorf("target mode = %v, want 0640", fi.Mode().Perm())
	}
	if names := dirNames(t, filepath.Dir(real)); len(names) != 1 {
		t.Errorf("target directory holds %q", names)
	}

	// A dangling link creates its target.
	dangling := filepath.Join(dir, "Pulumi.prod.yaml")
	if err := os.Symlink("real/Pulumi.prod.yaml", dangling); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(dangling, []byte("p\n")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "real", "Pulumi.prod.yaml")); got != "p\n" {
		t.Errorf("dangling target content = %q", got)
	}
	if fi, err := os.Lstat(dangling); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("dangling link replaced: %v, %v", fi, err)
	}
}

func TestWriteFileUnchangedKeepsMtime(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Pulumi.dev.yaml")
	if err := os.WriteFile(path, []byte("same\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, past, past); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("same\n")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(past) {
		t.Errorf("mtime changed to %v; want %v", fi.ModTime(), past)
	}
	// Same size, different bytes is written.
	if err := WriteFile(path, []byte("diff\n")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "diff\n" {
		t.Errorf("content = %q", got)
	}
}

func TestWriteFileErrors(t *testing.T) {
	dir := t.TempDir()
	// The target is a directory: refused, nothing left behind.
	sub := filepath.Join(dir, "Pulumi.dev.yaml")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(sub, []byte("x")); err == nil || !strings.Contains(err.Error(), sub) {
		t.Errorf("WriteFile over a directory: %v; want an error naming it", err)
	}
	// The directory cannot be created: a file stands in its way.
	blocked := filepath.Join(sub, "x", "Pulumi.dev.yaml")
	if err := os.WriteFile(filepath.Join(sub, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(blocked, []byte("x")); err == nil || !strings.Contains(err.Error(), blocked) {
		t.Errorf("WriteFile below a file: %v; want an error naming it", err)
	}
	// A symlink loop.
	loop := filepath.Join(dir, "loop")
	if err := os.Symlink("loop", loop); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(loop, []byte("x")); err == nil {
		t.Error("WriteFile through a symlink loop succeeded")
	}
	if names := dirNames(t, dir); strings.Join(names, ",") != "Pulumi.dev.yaml,loop" {
		t.Errorf("directory holds %q; want no temporary files", names)
	}
}

func TestWriteFileFailureCleansUp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Pulumi.dev.yaml")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rename = func(string, string) error { return errors.New("injected failure") }
	defer func() { rename = os.Rename }()
	err := WriteFile(path, []byte("new\n"))
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("WriteFile = %v; want the injected error, naming the file", err)
	}
	if got := readFile(t, path); got != "old\n" {
		t.Errorf("original changed to %q", got)
	}
	if names := dirNames(t, dir); strings.Join(names, ",") != "Pulumi.dev.yaml" {
		t.Errorf("directory holds %q; want no temporary files", names)
	}
}

// A settings file in a stackConfigDir that a fresh checkout lacks: the
// directory is created, as pulumi creates it.
func TestWriteFileCreatesMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "config")
	path := filepath.Join(dir, "Pulumi.dev.yaml")
	if err := WriteFile(path, []byte("encryptionsalt: v1:x\n")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "encryptionsalt: v1:x\n" {
		t.Errorf("content %q", got)
	}
	if got := dirNames(t, dir); len(got) != 1 || got[0] != "Pulumi.dev.yaml" {
		t.Errorf("directory holds %v", got)
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
	err := WriteFile(path, []byte("encryptionsalt: v1:x\nconfig: {}\n"))
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not writable") {
		t.Fatalf("WriteFile of a read-only file: %v; want an error naming it", err)
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
	err := WriteFile(path, []byte("encryptionsalt: v1:x\nconfig: {}\n"))
	if err == nil || !strings.Contains(err.Error(), "directory "+dir+" is not writable") {
		t.Fatalf("WriteFile in a read-only directory: %v", err)
	}
	if got := readFile(t, path); got != "config: {}\n" {
		t.Errorf("file changed to %q", got)
	}
}

// Replacing a file keeps its owner and group (here as root, who may set
// them), where a plain rename would hand the file to the writer.
func TestWriteFileKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the file to another user")
	}
	path := filepath.Join(t.TempDir(), "Pulumi.dev.yaml")
	if err := os.WriteFile(path, []byte("config: {}\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	const nobody = 65534
	if err := os.Chown(path, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("encryptionsalt: v1:x\nconfig: {}\n")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != nobody || st.Gid != nobody || fi.Mode().Perm() != 0o640 {
		t.Errorf("owner %d:%d mode %v, want %d:%d 0640", st.Uid, st.Gid, fi.Mode().Perm(), nobody, nobody)
	}
}

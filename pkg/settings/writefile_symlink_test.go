//go:build unix

package settings

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
	if err := writeFile(link, []byte("new\n")); err != nil {
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
	if err := writeFile(dangling, []byte("p\n")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "real", "Pulumi.prod.yaml")); got != "p\n" {
		t.Errorf("dangling target content = %q", got)
	}
	if fi, err := os.Lstat(dangling); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("dangling link replaced: %v, %v", fi, err)
	}
}

// A settings file that is a dangling symlink into a
// directory that does not exist is refused, and no directory is made.
func TestUpdateDanglingSymlinkNoDir(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "nonexistent", "dir")
	link := filepath.Join(dir, "Pulumi.dev.yaml")
	if err := os.Symlink(filepath.Join(outside, "x.yaml"), link); err != nil {
		t.Fatal(err)
	}
	written, err := Update(context.Background(), link, func([]byte) ([]byte, error) { return []byte("encryptionsalt: v1:x\n"), nil })
	if err == nil || written || !strings.Contains(err.Error(), link) || !strings.Contains(err.Error(), "whose directory does not exist") {
		t.Fatalf("Update through a dangling link = %v, %v; want a refusal naming the link", written, err)
	}
	if _, err := os.Stat(filepath.Dir(outside)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s was created (%v)", filepath.Dir(outside), err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("link changed: %v, %v", fi, err)
	}
}

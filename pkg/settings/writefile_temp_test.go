//go:build unix

package settings

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A temporary file a killed run left is removed by the next write once it
// is stale; a fresh one, maybe another writer's, is left alone.
func TestUpdateRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Pulumi.dev.yaml")
	stale := filepath.Join(dir, ".Pulumi.dev.yaml"+tempSuffix+"0")
	fresh := filepath.Join(dir, ".Pulumi.dev.yaml"+tempSuffix+"1")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("half a file"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * staleTemp)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := Update(context.Background(), path, func([]byte) ([]byte, error) { return []byte("encryptionsalt: v1:x\n"), nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale temporary file is still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("the fresh temporary file was removed: %v", err)
	}
	if got := readFile(t, path); got != "encryptionsalt: v1:x\n" {
		t.Errorf("file %q", got)
	}
	if names := dirNames(t, dir); len(names) != 2 {
		t.Errorf("directory holds %q, want the file and the fresh temporary file", names)
	}
}

// A rename refused in a sticky directory (the file is another user's)
// says so, and what to do, instead of "operation not permitted" alone.
func TestUpdateStickyDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(dir, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "Pulumi.dev.yaml")
	if err := os.WriteFile(path, []byte("config: {}\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	u := updater{rename: func(string, string) error { return &os.LinkError{Op: "rename", Err: syscall.EPERM} }}
	_, err := u.update(context.Background(), path, func([]byte) ([]byte, error) { return []byte("encryptionsalt: v1:x\n"), nil })
	if err == nil || !strings.Contains(err.Error(), "is sticky") || !strings.Contains(err.Error(), "belongs to another user") || strings.Count(err.Error(), "\n") != 0 {
		t.Fatalf("update = %v; want one line saying the directory is sticky and the file another user's", err)
	}
	if got := readFile(t, path); got != "config: {}\n" {
		t.Errorf("file %q, want it untouched", got)
	}
}

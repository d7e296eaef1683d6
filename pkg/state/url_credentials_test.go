//go:build unix

package state

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A credentials.json that is not a small regular file is refused at once,
// with one line that names it, and never blocks.
func TestResolveBackendURLCredentialsBounds(t *testing.T) {
	fifo := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(fifo, "credentials.json"), 0o600); err != nil {
		t.Fatal(err)
	}
	zero := t.TempDir()
	if err := os.Symlink("/dev/zero", filepath.Join(zero, "credentials.json")); err != nil {
		t.Fatal(err)
	}
	large := t.TempDir()
	writeCreds(t, large, "")
	if err := os.Truncate(filepath.Join(large, "credentials.json"), 1<<30); err != nil {
		t.Fatal(err)
	}
	for home, want := range map[string]string{
		fifo:  "is a named pipe (FIFO), not a regular file",
		zero:  "is a device, not a regular file",
		large: "is larger than 4 MiB, the most stacksync reads of pulumi's credentials.json",
	} {
		file := filepath.Join(home, "credentials.json")
		done := make(chan error, 1)
		go func() {
			_, _, err := ResolveBackendURL(t.Context(), "", func(k string) string {
				if k == "PULUMI_HOME" {
					return home
				}
				return ""
			}, "")
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), file+" "+want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("ResolveBackendURL with %s = %v; want one line holding %q", file, err, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("ResolveBackendURL with %s blocked", file)
		}
	}
}

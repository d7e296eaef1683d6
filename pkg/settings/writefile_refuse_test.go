//go:build unix

package settings

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestWriteFileErrors(t *testing.T) {
	dir := t.TempDir()
	// The target is a directory: refused, nothing left behind.
	sub := filepath.Join(dir, "Pulumi.dev.yaml")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(sub, []byte("x")); err == nil || !strings.Contains(err.Error(), sub) {
		t.Errorf("writeFile over a directory: %v; want an error naming it", err)
	}
	// The directory cannot be created: a file stands in its way.
	blocked := filepath.Join(sub, "x", "Pulumi.dev.yaml")
	if err := os.WriteFile(filepath.Join(sub, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(blocked, []byte("x")); err == nil || !strings.Contains(err.Error(), blocked) {
		t.Errorf("writeFile below a file: %v; want an error naming it", err)
	}
	// A symlink loop.
	loop := filepath.Join(dir, "loop")
	if err := os.Symlink("loop", loop); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(loop, []byte("x")); err == nil {
		t.Error("writeFile through a symlink loop succeeded")
	}
	if names := dirNames(t, dir); strings.Join(names, ",") != "Pulumi.dev.yaml,loop" {
		t.Errorf("directory holds %q; want no temporary files", names)
	}
}

// Anything but a regular file is refused without blocking: a named pipe
// with no writer would make a plain open wait forever.
func TestUpdateRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "Pulumi.fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "Pulumi.sock.yaml")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dev := filepath.Join(dir, "Pulumi.dev.yaml")
	if err := os.Symlink("/dev/null", dev); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{fifo: "named pipe", sock: "socket", dev: "a device", dir: "a directory"} {
		done := make(chan error, 1)
		go func() {
			_, err := Update(context.Background(), path, func([]byte) ([]byte, error) { return []byte("x: 1\n"), nil })
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
				t.Errorf("Update(%s) = %v; want an error naming it as %s", path, err, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Update(%s) blocked", path)
		}
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("fifo replaced: %v %v", fi, err)
	}
}

// A settings file larger than the editor takes is refused before a byte of
// it is read, and left alone.
func TestUpdateRefusesLargeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Pulumi.dev.yaml")
	if err := os.WriteFile(path, []byte("config: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 3<<30); err != nil {
		t.Fatal(err)
	}
	calls := 0
	_, err := Update(t.Context(), path, func([]byte) ([]byte, error) { calls++; return []byte("x: 1\n"), nil })
	want := "read " + path + ": it is larger than 2 GiB, the most stacksync reads of a settings file"
	if err == nil || err.Error() != want || calls != 0 {
		t.Errorf("Update = %v after %d edits; want %q", err, calls, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 3<<30 {
		t.Errorf("file changed: %v %v", fi, err)
	}
}

//go:build unix

package settings

import (
	"context"
	"errors"
	"fmt"
	"net"
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
	if err := writeFile(path, []byte("same\n")); err != nil {
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
	if err := writeFile(path, []byte("diff\n")); err != nil {
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

func TestWriteFileFailureCleansUp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Pulumi.dev.yaml")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	u := updater{rename: func(string, string) error { return errors.New("injected failure") }}
	_, err := u.update(context.Background(), path, func([]byte) ([]byte, error) { return []byte("new\n"), nil })
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("writeFile = %v; want the injected error, naming the file", err)
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
	if err := writeFile(path, []byte("encryptionsalt: v1:x\n")); err != nil {
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

// Replacing a file keeps its owner and group. As root the file is given to
// another user and must come back to them; as anyone else, to a
// supplementary group of the process, which a file owner may set.
func TestWriteFileKeepsOwner(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Pulumi.dev.yaml")
	if err := os.WriteFile(path, []byte("config: {}\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	uid, gid := 65534, 65534 // nobody
	if os.Geteuid() != 0 {
		uid, gid = os.Geteuid(), -1
		groups, _ := os.Getgroups()
		for _, g := range groups {
			if g != os.Getegid() {
				gid = g
			}
		}
		if gid < 0 {
			t.Skip("not root and in no supplementary group; TestKeepOwnerSeam covers the chown calls")
		}
	}
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(path, []byte("encryptionsalt: v1:x\nconfig: {}\n")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != uid || int(st.Gid) != gid || fi.Mode().Perm() != 0o640 {
		t.Errorf("owner %d:%d mode %v, want %d:%d 0640", st.Uid, st.Gid, fi.Mode().Perm(), uid, gid)
	}
}

// keepOwner asks for the old owner and group, and when that is refused
// (not root) for the group alone. Runs as any user.
func TestKeepOwnerSeam(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	st := *fi.Sys().(*syscall.Stat_t)
	st.Uid, st.Gid = 4242, 4343
	old := statInfo{fi, &st}
	for _, refuse := range []bool{false, true} {
		var calls []string
		u := updater{chown: func(_ *os.File, uid, gid int) error {
			calls = append(calls, fmt.Sprintf("%d:%d", uid, gid))
			if refuse && uid >= 0 {
				return syscall.EPERM
			}
			return nil
		}}
		u.keepOwner(f, old)
		want := "4242:4343"
		if refuse {
			want = "4242:4343 -1:4343"
		}
		if got := strings.Join(calls, " "); got != want {
			t.Errorf("refuse=%v: chown calls %q, want %q", refuse, got, want)
		}
	}
}

// statInfo is a FileInfo whose Sys is a made-up stat.
type statInfo struct {
	os.FileInfo
	st *syscall.Stat_t
}

func (s statInfo) Sys() any { return s.st }

// Row 4 of issue 7: a settings file that is a dangling symlink into a
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

// Row 5 of issue 7: another writer appends to the file between the read and
// the rename. The edit is redone on the new bytes, so the appended line
// survives; a file that keeps changing is left to the other writer.
func TestUpdateConcurrentChange(t *testing.T) {
	edit := func(calls *int) func([]byte) ([]byte, error) {
		return func(old []byte) ([]byte, error) {
			*calls++
			return append([]byte("encryptionsalt: v1:x\n"), old...), nil
		}
	}
	appendLine := func(t *testing.T, path string) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString("  other:writer: kept\n"); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	// sameSize rewrites the file in place with other bytes of the same
	// length and puts the mtime back: only the content shows the change.
	sameSize := func(t *testing.T, path string) {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte("C"), 0); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	// replaced puts a new file (new inode) with the same bytes in place.
	replaced := func(t *testing.T, path string) {
		b := []byte(readFile(t, path))
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		change func(*testing.T, string)
		times  int // how many checks see a change
		want   string
		calls  int
		err    bool
	}{
		{"append once", appendLine, 1, "encryptionsalt: v1:x\nconfig:\n  a: b\n  other:writer: kept\n", 2, false},
		{"same size, same mtime", sameSize, 1, "encryptionsalt: v1:x\nConfig:\n  a: b\n", 2, false},
		{"new inode, same bytes", replaced, 1, "encryptionsalt: v1:x\nconfig:\n  a: b\n", 2, false},
		{"append twice", appendLine, 2, "config:\n  a: b\n  other:writer: kept\n  other:writer: kept\n", 2, true},
		{"no change", nil, 0, "encryptionsalt: v1:x\nconfig:\n  a: b\n", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "Pulumi.dev.yaml")
			if err := os.WriteFile(path, []byte("config:\n  a: b\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			past := time.Now().Add(-time.Hour)
			if err := os.Chtimes(path, past, past); err != nil {
				t.Fatal(err)
			}
			seen := 0
			u := updater{beforeCheck: func(target string) {
				if seen++; seen <= tt.times {
					tt.change(t, target)
				}
			}}
			calls := 0
			written, err := u.update(context.Background(), path, edit(&calls))
			if tt.err {
				if !errors.Is(err, ErrChanged) || written || !strings.Contains(err.Error(), path) {
					t.Fatalf("update = %v, %v; want ErrChanged naming the file", written, err)
				}
			} else if err != nil || !written {
				t.Fatalf("update = %v, %v", written, err)
			}
			if got := readFile(t, path); got != tt.want {
				t.Errorf("file holds %q, want %q", got, tt.want)
			}
			if calls != tt.calls {
				t.Errorf("edit ran %d times, want %d", calls, tt.calls)
			}
			if names := dirNames(t, dir); strings.Join(names, ",") != "Pulumi.dev.yaml" {
				t.Errorf("directory holds %q; want no temporary files", names)
			}
		})
	}

	// A file created while a new one was being written is not replaced.
	path := filepath.Join(t.TempDir(), "Pulumi.dev.yaml")
	u := updater{beforeCheck: func(target string) {
		if _, err := os.Stat(target); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(target, []byte("config: {}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}}
	calls := 0
	if _, err := u.update(context.Background(), path, edit(&calls)); err != nil || calls != 2 {
		t.Fatalf("update = %v after %d edits", err, calls)
	}
	if got := readFile(t, path); got != "encryptionsalt: v1:x\nconfig: {}\n" {
		t.Errorf("file holds %q", got)
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

// Update leaves the file alone when the edit keeps the bytes, when it
// fails, and when the context is done.
func TestUpdateNoWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Pulumi.dev.yaml")
	if err := os.WriteFile(path, []byte("config: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for name, tc := range map[string]struct {
		ctx  context.Context
		edit func([]byte) ([]byte, error)
		err  error
	}{
		"same bytes": {context.Background(), func(b []byte) ([]byte, error) { return b, nil }, nil},
		"edit error": {context.Background(), func([]byte) ([]byte, error) { return []byte("x"), boom }, boom},
		"canceled":   {canceled, func([]byte) ([]byte, error) { return []byte("x"), nil }, context.Canceled},
	} {
		written, err := Update(tc.ctx, path, tc.edit)
		if written || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%s: Update = %v, %v; want false, %v", name, written, err, tc.err)
		}
		if got := readFile(t, path); got != "config: {}\n" {
			t.Errorf("%s: file changed to %q", name, got)
		}
	}
	// No file and nothing to write: no file.
	missing := filepath.Join(t.TempDir(), "Pulumi.new.yaml")
	if written, err := Update(context.Background(), missing, func(b []byte) ([]byte, error) { return nil, nil }); written || err != nil {
		t.Errorf("Update of a missing file with nothing to write = %v, %v", written, err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty file created: %v", err)
	}
}

// writeFile atomically replaces the file at path with data, as [Update]
// does with an edit that returns data. When the file already holds data,
// nothing is written and its mtime is unchanged.
func writeFile(path string, data []byte) error {
	_, err := Update(context.Background(), path, func([]byte) ([]byte, error) { return data, nil })
	return err
}

package dirstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/state/store"
	"github.com/stacksync/stacksync/pkg/state/storetest"
)

// t0 is the modification time of every file the tests write.
var t0 = time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC)

// files is the backend the tests other than the contract's read.
var files = map[string][]byte{
	".pulumi/meta.yaml":                     []byte("version: 1\n"),
	".pulumi/stacks/demo/dev.json":          []byte(`{"version":3}`),
	".pulumi/stacks/demo/dev.json.bak":      []byte(`{"version":0}`),
	".pulumi/stacks/demo/prod.json":         []byte("{}"),
	".pulumi/stacks/other/dev.json":         []byte("{}"),
	".pulumi/stacks/legacy.json":            []byte("{}"),
	".pulumi/locks/organization/x/y/1.json": []byte("{}"),
}

// open writes objects under a directory's prefix and opens the store.
func open(t *testing.T, prefix string, objects map[string][]byte) (store.Store, string) {
	t.Helper()
	root := storetest.WriteDir(t, prefix, objects, t0)
	s, err := New(root, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return s, root
}

func listKeys(t *testing.T, s store.Store, prefix string, recursive bool) []string {
	t.Helper()
	var keys []string
	err := s.List(context.Background(), prefix, recursive, func(o store.Object) error {
		keys = append(keys, o.Key)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q, %v): %v", prefix, recursive, err)
	}
	return keys
}

func TestContract(t *testing.T) {
	for _, prefix := range []string{"", "team/a/"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			storetest.Contract(t, func(t *testing.T, objects map[string][]byte) store.Store {
				s, root := open(t, prefix, objects)
				if got, want := s.Location(".pulumi/meta.yaml"), filepath.Join(root, filepath.FromSlash(prefix), ".pulumi", "meta.yaml"); got != want {
					t.Errorf("Location = %q, want %q", got, want)
				}
				return s
			})
		})
	}
}

// TestModTime: List and Stat report the file's modification time.
func TestModTime(t *testing.T) {
	s, _ := open(t, "", files)
	ctx := context.Background()
	err := s.List(ctx, "", true, func(o store.Object) error {
		if !o.ModTime.Equal(t0) {
			t.Errorf("List: %s has ModTime %v, want %v", o.Key, o.ModTime, t0)
		}
		if st, err := s.Stat(ctx, o.Key); err != nil || !st.ModTime.Equal(t0) {
			t.Errorf("Stat(%s) = %+v, %v; want ModTime %v", o.Key, st, err, t0)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSkips(t *testing.T) {
	s, root := open(t, "", files)
	// Not regular files: a symlink, a FIFO-less stand-in (a directory
	// named like a stack file) and an .attrs sidecar on its own.
	must(t, os.Symlink(filepath.Join(root, ".pulumi/stacks/demo/dev.json"), filepath.Join(root, ".pulumi/stacks/demo/link.json")))
	must(t, os.Mkdir(filepath.Join(root, ".pulumi/stacks/demo/dir.json"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, ".pulumi/stacks/demo/orphan.attrs"), nil, 0o644))
	for _, recursive := range []bool{false, true} {
		for _, k := range listKeys(t, s, ".pulumi/stacks/demo/", recursive) {
			if strings.HasSuffix(k, ".attrs") || strings.Contains(k, "link") || strings.Contains(k, "dir.json") {
				t.Errorf("List(recursive %v) returned %q", recursive, k)
			}
		}
	}
	for _, k := range []string{".pulumi/stacks/demo/dir.json", ".pulumi/stacks/demo/dev.json.attrs", ".pulumi/stacks/demo/orphan.attrs"} {
		if _, err := s.Stat(context.Background(), k); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Stat(%s) = %v, want not found", k, err)
		}
	}
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	if _, err := New(filepath.Join(dir, "missing"), ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("New(missing) = %v, want store.ErrNotFound", err)
	}
	file := filepath.Join(dir, "file")
	must(t, os.WriteFile(file, nil, 0o644))
	if _, err := New(file, ""); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("New(file) = %v, want a not-a-directory error", err)
	}
}

// TestSymlinkPolicy: links inside the backend are never followed.
// Listings leave them out, and reading, looking up or listing through one
// names the link.
func TestSymlinkPolicy(t *testing.T) {
	ctx := context.Background()
	s, root := open(t, "", files)
	elsewhere := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(elsewhere, "stacks"), 0o755))
	must(t, os.WriteFile(filepath.Join(elsewhere, "stacks", "dev.json"), []byte("{}"), 0o644))
	must(t, os.Symlink(filepath.Join(elsewhere, "stacks"), filepath.Join(root, ".pulumi/stacks/linked")))
	must(t, os.Symlink(filepath.Join(root, ".pulumi/stacks/demo/dev.json"), filepath.Join(root, ".pulumi/stacks/demo/alias.json")))

	for _, k := range listKeys(t, s, ".pulumi/stacks/", true) {
		if strings.Contains(k, "linked") || strings.Contains(k, "alias") {
			t.Errorf("List listed %s through a link", k)
		}
	}
	// A prefix through a linked directory, or naming a link whole.
	for _, prefix := range []string{".pulumi/stacks/linked/", ".pulumi/stacks/linked/dev.json", ".pulumi/stacks/demo/alias.json"} {
		err := s.List(ctx, prefix, false, func(store.Object) error { return nil })
		if !errors.Is(err, ErrSymlink) || !strings.Contains(err.Error(), root) {
			t.Errorf("List(%s) = %v, want ErrSymlink naming the path", prefix, err)
		}
	}
	// A prefix that only starts the link's name lists around it.
	if got := listKeys(t, s, ".pulumi/stacks/demo/al", false); len(got) != 0 {
		t.Errorf("List(.pulumi/stacks/demo/al) = %q, want nothing", got)
	}
	for _, k := range []string{".pulumi/stacks/linked/dev.json", ".pulumi/stacks/demo/alias.json"} {
		if _, err := s.ReadRange(ctx, k, 0, -1); !errors.Is(err, ErrSymlink) || !strings.Contains(err.Error(), root) {
			t.Errorf("ReadRange(%s) = %v, want ErrSymlink naming the path", k, err)
		}
		if _, err := s.Stat(ctx, k); !errors.Is(err, ErrSymlink) || errors.Is(err, store.ErrNotFound) {
			t.Errorf("Stat(%s) = %v, want ErrSymlink, not not-found", k, err)
		}
	}
	// The root itself may be a link.
	top := filepath.Join(t.TempDir(), "backend")
	must(t, os.Symlink(root, top))
	s2, err := New(top, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := listKeys(t, s2, ".pulumi/stacks/demo/dev.json", false); len(got) != 2 {
		t.Errorf("List through a linked root = %q", got)
	}
}

// TestFIFO: a FIFO where a checkpoint should be is refused at once, never
// opened for a blocking read.
func TestFIFO(t *testing.T) {
	ctx := context.Background()
	s, root := open(t, "", files)
	const key = ".pulumi/stacks/demo/fifo.json"
	if err := syscall.Mkfifo(filepath.Join(root, key), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	type result struct {
		listed                    []string
		listErr, statErr, readErr error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.listErr = s.List(ctx, key, false, func(o store.Object) error { r.listed = append(r.listed, o.Key); return nil })
		_, r.statErr = s.Stat(ctx, key)
		_, r.readErr = s.ReadRange(ctx, key, 0, -1)
		done <- r
	}()
	select {
	case r := <-done:
		if r.listErr != nil || len(r.listed) != 0 {
			t.Errorf("List(%s) = %q, %v; want nothing", key, r.listed, r.listErr)
		}
		if !errors.Is(r.statErr, store.ErrNotFound) {
			t.Errorf("Stat(FIFO) = %v, want not found (not a regular file)", r.statErr)
		}
		if !errors.Is(r.readErr, store.ErrNotFound) {
			t.Errorf("ReadRange(FIFO) = %v, want not found (not a regular file)", r.readErr)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO blocked")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

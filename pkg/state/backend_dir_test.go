package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/state/dirstore"
	"github.com/stacksync/stacksync/pkg/state/store"
	"github.com/stacksync/stacksync/pkg/state/storetest"
)

// dirBackend writes a file:// backend of a few stacks and opens it.
func dirBackend(t *testing.T) (*Backend, string) {
	t.Helper()
	pass := storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt)}.Build()
	root := storetest.WriteDir(t, "", map[string][]byte{
		metaKey:                            []byte("version: 1\n"),
		".pulumi/stacks/demo/dev.json":     pass,
		".pulumi/stacks/demo/dev.json.bak": pass,
		".pulumi/stacks/demo/dev.json.gz":  storetest.Gzip(t, pass),
		".pulumi/stacks/demo/dev2.json":    pass,
		".pulumi/stacks/demo/prod.json":    pass,
		".pulumi/stacks/other/dev.json":    pass,
		".pulumi/stacks/legacy.json":       pass,
	}, t0)
	b, err := openRaw(context.Background(), "file://"+root, "/", "")
	if err != nil {
		t.Fatal(err)
	}
	return b, root
}

func TestOpenFileBackend(t *testing.T) {
	ctx := context.Background()
	b, root := dirBackend(t)
	l, err := b.ListStacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range l.Stacks {
		got = append(got, s.Ref.String())
	}
	want := []string{"legacy", "demo/dev", "demo/dev2", "demo/prod", "other/dev"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ListStacks = %q, want %q", got, want)
	}
	// Of dev.json and dev.json.gz, written at the same instant, the .gz.
	if o, err := b.Find(ctx, StackRef{Project: "demo", Name: "dev"}); err != nil || o.Key != ".pulumi/stacks/demo/dev.json.gz" {
		t.Errorf("Find(demo/dev) = %+v, %v; want dev.json.gz", o, err)
	}
	if _, err := openRaw(ctx, "file://"+filepath.Join(root, "missing"), "/", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Open(missing dir) = %v, want store.ErrNotFound", err)
	}
	if _, err := openRaw(ctx, "ftp://host/dir", "/", ""); !errors.Is(err, ErrInvalidURL) {
		t.Errorf("Open(ftp://) = %v, want ErrInvalidURL", err)
	}
}

// TestDirBackendSymlinkPolicy: one policy for every command: links inside
// the backend are never followed. Listings leave them out, and reading,
// finding or listing through one names the link.
func TestDirBackendSymlinkPolicy(t *testing.T) {
	ctx := context.Background()
	b, root := dirBackend(t)
	elsewhere := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(elsewhere, "stacks"), 0o755))
	must(t, os.WriteFile(filepath.Join(elsewhere, "stacks", "dev.json"), storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt)}.Build(), 0o644))
	must(t, os.Symlink(filepath.Join(elsewhere, "stacks"), filepath.Join(root, ".pulumi/stacks/linked")))
	must(t, os.Symlink(filepath.Join(root, ".pulumi/stacks/demo/dev.json"), filepath.Join(root, ".pulumi/stacks/demo/alias.json")))

	l, err := b.ListStacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range l.Stacks {
		if st.Ref.Project == "linked" || st.Ref.Name == "alias" {
			t.Errorf("ListStacks listed %s through a link", st.Ref)
		}
	}
	if _, err := b.ListStacks(ctx, "linked"); !errors.Is(err, dirstore.ErrSymlink) {
		t.Errorf("ListStacks(linked) = %v, want ErrSymlink", err)
	}
	for _, ref := range []StackRef{{Project: "linked", Name: "dev"}, {Project: "demo", Name: "alias"}} {
		if _, err := b.Find(ctx, ref); !errors.Is(err, dirstore.ErrSymlink) || errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), root) {
			t.Errorf("Find(%s) = %v, want ErrSymlink naming the path, not not-found", ref, err)
		}
		if _, err := b.provider(ctx, ref, lookupOptions{}); !errors.Is(err, dirstore.ErrSymlink) {
			t.Errorf("Provider(%s) = %v, want ErrSymlink", ref, err)
		}
	}
	for _, k := range []string{".pulumi/stacks/linked/dev.json", ".pulumi/stacks/demo/alias.json"} {
		if _, err := b.ReadHead(ctx, k); !errors.Is(err, dirstore.ErrSymlink) || !strings.Contains(err.Error(), root) {
			t.Errorf("ReadHead(%s) = %v, want ErrSymlink naming the path", k, err)
		}
	}
	// The root itself may be a link.
	top := filepath.Join(t.TempDir(), "backend")
	must(t, os.Symlink(root, top))
	if b2, err := openRaw(ctx, "file://"+top, "/", ""); err != nil {
		t.Fatal(err)
	} else if _, err := b2.Find(ctx, StackRef{Project: "demo", Name: "dev"}); err != nil {
		t.Errorf("Find through a linked root = %v", err)
	}
}

// TestDirBackendFIFO: a FIFO where a checkpoint should be is refused at
// once, never opened for a blocking read.
func TestDirBackendFIFO(t *testing.T) {
	ctx := context.Background()
	b, root := dirBackend(t)
	const key = ".pulumi/stacks/demo/fifo.json"
	if err := syscall.Mkfifo(filepath.Join(root, key), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	type result struct{ find, read error }
	done := make(chan result, 1)
	go func() {
		var r result
		_, r.find = b.Find(ctx, StackRef{Project: "demo", Name: "fifo"})
		_, r.read = b.ReadHead(ctx, key)
		done <- r
	}()
	select {
	case r := <-done:
		if !errors.Is(r.find, ErrStackNotFound) {
			t.Errorf("Find(a FIFO checkpoint) = %v, want not found (not a regular file)", r.find)
		}
		if !errors.Is(r.read, store.ErrNotFound) {
			t.Errorf("ReadHead(a FIFO checkpoint) = %v, want not found (not a regular file)", r.read)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO checkpoint blocked")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// openRaw parses and opens a backend URL. Relative file:// paths resolve
// against baseDir, and ~ against home.
func openRaw(ctx context.Context, rawURL, baseDir, home string) (*Backend, error) {
	u, err := ParseBackendURL(rawURL, baseDir, home)
	if err != nil {
		return nil, err
	}
	return Open(ctx, u)
}

package state

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// storeFiles is the content of the stores under test; keys are relative to
// the backend root.
var storeFiles = map[string]string{
	".pulumi/meta.yaml":                                           "version: 1\n",
	".pulumi/stacks/demo/dev.json":                                `{"version":3}`,
	".pulumi/stacks/demo/dev.json.bak":                            `{"version":0}`,
	".pulumi/stacks/demo/dev.json.gz":                             "gz",
	".pulumi/stacks/demo/dev2.json":                               "0123456789",
	".pulumi/stacks/demo/prod.json":                               "{}",
	".pulumi/stacks/other/dev.json":                               "{}",
	".pulumi/stacks/legacy.json":                                  "{}",
	".pulumi/backups/demo/dev/dev.1712345678901234567.json":       "{}",
	".pulumi/history/demo/dev/dev-1712345678901234567.checkpoint": "{}",
}

// dirStore writes storeFiles, plus fileblob's .attrs sidecars, under
// root/prefix and opens a DirStore on them.
func dirStore(t *testing.T, prefix string) (*DirStore, string) {
	t.Helper()
	root := t.TempDir()
	for k, v := range storeFiles {
		p := filepath.Join(root, filepath.FromSlash(prefix+k))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p+".attrs", []byte(`{"user.cache_control":""}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, t0, t0); err != nil {
			t.Fatal(err)
		}
	}
	s, err := NewDirStore(root, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return s, root
}

func memStoreFiles() *MemStore {
	s := NewMemStore()
	for k, v := range storeFiles {
		s.Put(k, []byte(v), t0)
	}
	return s
}

func listKeys(t *testing.T, s Store, prefix string, recursive bool) []string {
	t.Helper()
	keys := []string{}
	err := s.List(context.Background(), prefix, recursive, func(o Object) error {
		keys = append(keys, o.Key)
		if want := int64(len(storeFiles[o.Key])); o.Size != want {
			t.Errorf("List: %s has size %d, want %d", o.Key, o.Size, want)
		}
		if !o.ModTime.Equal(t0) {
			t.Errorf("List: %s has ModTime %v, want %v", o.Key, o.ModTime, t0)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q, %v): %v", prefix, recursive, err)
	}
	return keys
}

// testStoreContract checks the Store contract on a store holding storeFiles.
func testStoreContract(t *testing.T, s Store) {
	ctx := context.Background()
	listTests := []struct {
		prefix    string
		recursive bool
		want      []string
	}{
		{".pulumi/stacks/", true, []string{
			".pulumi/stacks/demo/dev.json", ".pulumi/stacks/demo/dev.json.bak", ".pulumi/stacks/demo/dev.json.gz",
			".pulumi/stacks/demo/dev2.json", ".pulumi/stacks/demo/prod.json", ".pulumi/stacks/legacy.json", ".pulumi/stacks/other/dev.json",
		}},
		{".pulumi/stacks/", false, []string{".pulumi/stacks/legacy.json"}},
		{".pulumi/stacks/demo/", false, []string{
			".pulumi/stacks/demo/dev.json", ".pulumi/stacks/demo/dev.json.bak", ".pulumi/stacks/demo/dev.json.gz",
			".pulumi/stacks/demo/dev2.json", ".pulumi/stacks/demo/prod.json",
		}},
		// A prefix in the middle of a file name.
		{".pulumi/stacks/demo/dev.json", false, []string{
			".pulumi/stacks/demo/dev.json", ".pulumi/stacks/demo/dev.json.bak", ".pulumi/stacks/demo/dev.json.gz",
		}},
		{".pulumi/stacks/demo/de", false, []string{
			".pulumi/stacks/demo/dev.json", ".pulumi/stacks/demo/dev.json.bak", ".pulumi/stacks/demo/dev.json.gz", ".pulumi/stacks/demo/dev2.json",
		}},
		// A prefix in the middle of a directory name.
		{".pulumi/stacks/ot", true, []string{".pulumi/stacks/other/dev.json"}},
		{".pulumi/stacks/ot", false, []string{}},
		{".pulumi/b", true, []string{".pulumi/backups/demo/dev/dev.1712345678901234567.json"}},
		{".pulumi/meta.yaml", false, []string{".pulumi/meta.yaml"}},
		{"", false, []string{}},
		{".pulumi/", false, []string{".pulumi/meta.yaml"}},
		// A directory that does not exist: nothing, as an S3 listing.
		{".pulumi/locks/", true, []string{}},
		{".pulumi/locks/", false, []string{}},
		{"nowhere/at/all/", true, []string{}},
	}
	for _, tt := range listTests {
		if got := listKeys(t, s, tt.prefix, tt.recursive); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("List(%q, recursive %v) =\n %q\nwant\n %q", tt.prefix, tt.recursive, got, tt.want)
		}
	}
	all := listKeys(t, s, "", true)
	if len(all) != len(storeFiles) {
		t.Errorf("List(\"\", recursive) = %d keys, want %d: %q", len(all), len(storeFiles), all)
	}

	// An error from fn stops the listing and is returned.
	stop := errors.New("stop")
	n := 0
	err := s.List(ctx, ".pulumi/", true, func(Object) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("List with failing fn = %v after %d calls, want stop after 1", err, n)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.List(cancelled, ".pulumi/", true, func(Object) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("List with a cancelled context = %v", err)
	}

	readTests := []struct {
		key    string
		off, n int64
		want   string
	}{
		{".pulumi/stacks/demo/dev2.json", 0, -1, "0123456789"},
		{".pulumi/stacks/demo/dev2.json", 0, 4, "0123"},
		{".pulumi/stacks/demo/dev2.json", 2, 3, "234"},
		{".pulumi/stacks/demo/dev2.json", 4, -1, "456789"},
		{".pulumi/stacks/demo/dev2.json", 8, 100, "89"},
		{".pulumi/stacks/demo/dev2.json", 0, 100, "0123456789"},
		{".pulumi/stacks/demo/dev2.json", 0, 0, ""},
		{".pulumi/stacks/demo/dev2.json", 10, -1, ""},
		{".pulumi/stacks/demo/dev2.json", 10, 5, ""},
		{".pulumi/stacks/demo/dev2.json", 50, -1, ""},
	}
	for _, tt := range readTests {
		rc, err := s.ReadRange(ctx, tt.key, tt.off, tt.n)
		if err != nil {
			t.Errorf("ReadRange(%q, %d, %d): %v", tt.key, tt.off, tt.n, err)
			continue
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != tt.want {
			t.Errorf("ReadRange(%q, %d, %d) = %q, %v; want %q", tt.key, tt.off, tt.n, got, err, tt.want)
		}
	}
	for _, key := range []string{".pulumi/stacks/demo/missing.json", "nowhere/x", ".pulumi/stacks/demo/dev.json.attrs.missing"} {
		rc, err := s.ReadRange(ctx, key, 0, -1)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("ReadRange(%q) = %v, want ErrNotFound", key, err)
		}
		if rc != nil {
			rc.Close()
		}
		if err != nil && !strings.Contains(err.Error(), strings.TrimPrefix(key, ".pulumi/")) {
			t.Errorf("ReadRange(%q) error %q does not name the object", key, err)
		}
	}
	if _, err := s.ReadRange(cancelled, ".pulumi/meta.yaml", 0, -1); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadRange with a cancelled context = %v", err)
	}
}

func TestDirStore(t *testing.T) {
	s, root := dirStore(t, "")
	testStoreContract(t, s)
	if got, want := s.Location(".pulumi/meta.yaml"), filepath.Join(root, ".pulumi", "meta.yaml"); got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
}

func TestDirStorePrefix(t *testing.T) {
	s, root := dirStore(t, "team/a/")
	testStoreContract(t, s)
	if got, want := s.Location(".pulumi/meta.yaml"), filepath.Join(root, "team", "a", ".pulumi", "meta.yaml"); got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
}

func TestMemStore(t *testing.T) {
	testStoreContract(t, memStoreFiles())
}

func TestDirStoreSkips(t *testing.T) {
	s, root := dirStore(t, "")
	// Not regular files: a symlink, a FIFO-less stand-in (a directory
	// named like a stack file) and an .attrs sidecar on its own.
	if err := os.Symlink(filepath.Join(root, ".pulumi/stacks/demo/dev.json"), filepath.Join(root, ".pulumi/stacks/demo/link.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, ".pulumi/stacks/demo/dir.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, ".pulumi/stacks/demo/orphan.attrs"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, recursive := range []bool{false, true} {
		for _, k := range listKeys(t, s, ".pulumi/stacks/demo/", recursive) {
			if strings.HasSuffix(k, ".attrs") || strings.Contains(k, "link") || strings.Contains(k, "dir.json") {
				t.Errorf("List(recursive %v) returned %q", recursive, k)
			}
		}
	}
}

func TestNewDirStore(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewDirStore(filepath.Join(dir, "missing"), ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("NewDirStore(missing) = %v, want ErrNotFound", err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDirStore(file, ""); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("NewDirStore(file) = %v, want a not-a-directory error", err)
	}
}

func TestOpenFileBackend(t *testing.T) {
	_, root := dirStore(t, "")
	ctx := context.Background()
	b, err := Open(ctx, "file://"+root, "/", "")
	if err != nil {
		t.Fatal(err)
	}
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
	if _, err := Open(ctx, "file://"+filepath.Join(root, "missing"), "/", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open(missing dir) = %v, want ErrNotFound", err)
	}
	if _, err := Open(ctx, "gs://bucket", "/", ""); !errors.Is(err, ErrInvalidURL) {
		t.Errorf("Open(gs://) = %v, want ErrInvalidURL", err)
	}
}

// TestDirStoreSymlinkPolicy: one policy for every command (issue row 10):
// links inside the backend are never followed. Listings leave them out,
// and reading, finding or listing through one names the link.
func TestDirStoreSymlinkPolicy(t *testing.T) {
	ctx := context.Background()
	s, root := dirStore(t, "")
	elsewhere := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(elsewhere, "stacks"), 0o755))
	must(t, os.WriteFile(filepath.Join(elsewhere, "stacks", "dev.json"), ckpt{version: 3, sp: spPassphrase(testSalt)}.build(), 0o644))
	must(t, os.Symlink(filepath.Join(elsewhere, "stacks"), filepath.Join(root, ".pulumi/stacks/linked")))
	must(t, os.Symlink(filepath.Join(root, ".pulumi/stacks/demo/dev.json"), filepath.Join(root, ".pulumi/stacks/demo/alias.json")))
	b := NewBackend(nil, s)

	l, err := b.ListStacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range l.Stacks {
		if st.Ref.Project == "linked" || st.Ref.Name == "alias" {
			t.Errorf("ListStacks listed %s through a link", st.Ref)
		}
	}
	if _, err := b.ListStacks(ctx, "linked"); !errors.Is(err, ErrSymlink) {
		t.Errorf("ListStacks(linked) = %v, want ErrSymlink", err)
	}
	for _, ref := range []StackRef{{Project: "linked", Name: "dev"}, {Project: "demo", Name: "alias"}} {
		if _, err := b.Find(ctx, ref); !errors.Is(err, ErrSymlink) || errors.Is(err, ErrNotFound) {
			t.Errorf("Find(%s) = %v, want ErrSymlink, not not-found", ref, err)
		}
	}
	for _, k := range []string{".pulumi/stacks/linked/dev.json", ".pulumi/stacks/demo/alias.json"} {
		if _, err := s.ReadRange(ctx, k, 0, -1); !errors.Is(err, ErrSymlink) || !strings.Contains(err.Error(), root) {
			t.Errorf("ReadRange(%s) = %v, want ErrSymlink naming the path", k, err)
		}
	}
	// The root itself may be a link.
	top := filepath.Join(t.TempDir(), "backend")
	must(t, os.Symlink(root, top))
	if s2, err := NewDirStore(top, ""); err != nil {
		t.Fatal(err)
	} else if _, err := NewBackend(nil, s2).Find(ctx, StackRef{Project: "demo", Name: "dev"}); err != nil {
		t.Errorf("Find through a linked root = %v", err)
	}
}

// TestDirStoreFIFO: a FIFO where a checkpoint should be is refused at
// once, never opened for a blocking read.
func TestDirStoreFIFO(t *testing.T) {
	ctx := context.Background()
	s, root := dirStore(t, "")
	path := filepath.Join(root, ".pulumi/stacks/demo/fifo.json")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := NewBackend(nil, s).Find(ctx, StackRef{Project: "demo", Name: "fifo"})
		if err == nil {
			_, err = s.ReadRange(ctx, ".pulumi/stacks/demo/fifo.json", 0, -1)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("a FIFO checkpoint = %v, want not found (not a regular file)", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO checkpoint blocked")
	}
	if _, err := s.ReadRange(ctx, ".pulumi/stacks/demo/fifo.json", 0, -1); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReadRange(FIFO) = %v, want not a regular file", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

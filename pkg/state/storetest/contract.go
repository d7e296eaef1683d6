package storetest

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// contractObjects is what the store under Contract holds: keys relative to
// the backend root, and their content.
var contractObjects = map[string]string{
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

// Contract checks that a store keeps the store.Store contract. open
// returns a store holding exactly objects (key → content), last modified
// whenever it likes; Contract opens one and runs every check on it.
func Contract(t *testing.T, open func(t *testing.T, objects map[string][]byte) store.Store) {
	t.Helper()
	objects := map[string][]byte{}
	for k, v := range contractObjects {
		objects[k] = []byte(v)
	}
	s := open(t, objects)
	t.Run("List", func(t *testing.T) { contractList(t, s) })
	t.Run("ListStops", func(t *testing.T) { contractListStops(t, s) })
	t.Run("Stat", func(t *testing.T) { contractStat(t, s) })
	t.Run("ReadRange", func(t *testing.T) { contractReadRange(t, s) })
	t.Run("Missing", func(t *testing.T) { contractMissing(t, s) })
	t.Run("Location", func(t *testing.T) { contractLocation(t, s) })
	t.Run("Cancelled", func(t *testing.T) { contractCancelled(t, s) })
}

// listObjects lists prefix, checking each object's size.
func listObjects(t *testing.T, s store.Store, prefix string, recursive bool) []store.Object {
	t.Helper()
	objs := []store.Object{}
	err := s.List(context.Background(), prefix, recursive, func(o store.Object) error {
		objs = append(objs, o)
		if want := int64(len(contractObjects[o.Key])); o.Size != want {
			t.Errorf("List: %s has size %d, want %d", o.Key, o.Size, want)
		}
		if o.ModTime.IsZero() {
			t.Errorf("List: %s has no ModTime", o.Key)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q, %v): %v", prefix, recursive, err)
	}
	return objs
}

func keysOf(objs []store.Object) []string {
	keys := []string{}
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return keys
}

func contractList(t *testing.T, s store.Store) {
	tests := []struct {
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
		{"nowhere/at/all", false, []string{}},
	}
	for _, tt := range tests {
		if got := keysOf(listObjects(t, s, tt.prefix, tt.recursive)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("List(%q, recursive %v) =\n %q\nwant\n %q", tt.prefix, tt.recursive, got, tt.want)
		}
	}
	// Everything, in key order.
	all := keysOf(listObjects(t, s, "", true))
	var want []string
	for k := range contractObjects {
		want = append(want, k)
	}
	slices.Sort(want)
	if !reflect.DeepEqual(all, want) {
		t.Errorf("List(\"\", recursive) =\n %q\nwant\n %q", all, want)
	}
}

// contractListStops: an error from fn stops the listing and is returned as
// it is.
func contractListStops(t *testing.T, s store.Store) {
	stop := errors.New("stop")
	for _, recursive := range []bool{false, true} {
		n := 0
		err := s.List(context.Background(), ".pulumi/stacks/demo/", recursive, func(store.Object) error { n++; return stop })
		if err != stop || n != 1 {
			t.Errorf("List(recursive %v) with a failing fn = %v after %d calls, want stop after 1", recursive, err, n)
		}
	}
}

// contractStat: Stat agrees with List on every object, to the second.
func contractStat(t *testing.T, s store.Store) {
	for _, l := range listObjects(t, s, "", true) {
		o, err := s.Stat(context.Background(), l.Key)
		if err != nil {
			t.Errorf("Stat(%q): %v", l.Key, err)
			continue
		}
		if o.Key != l.Key || o.Size != l.Size || !o.ModTime.Truncate(time.Second).Equal(l.ModTime.Truncate(time.Second)) {
			t.Errorf("Stat(%q) = %+v, want %+v as listed", l.Key, o, l)
		}
	}
}

func contractReadRange(t *testing.T, s store.Store) {
	const key = ".pulumi/stacks/demo/dev2.json" // "0123456789"
	tests := []struct {
		off, n int64
		want   string
	}{
		{0, -1, "0123456789"},
		{0, 4, "0123"},
		{2, 3, "234"},
		{4, -1, "456789"},
		{8, 100, "89"},
		{0, 100, "0123456789"},
		{0, 0, ""},
		{10, -1, ""},
		{10, 5, ""},
		{50, -1, ""},
	}
	for _, tt := range tests {
		rc, err := s.ReadRange(context.Background(), key, tt.off, tt.n)
		if err != nil {
			t.Errorf("ReadRange(%q, %d, %d): %v", key, tt.off, tt.n, err)
			continue
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != tt.want {
			t.Errorf("ReadRange(%q, %d, %d) = %q, %v; want %q", key, tt.off, tt.n, got, err, tt.want)
		}
	}
	for k, v := range contractObjects {
		rc, err := s.ReadRange(context.Background(), k, 0, -1)
		if err != nil {
			t.Errorf("ReadRange(%q): %v", k, err)
			continue
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != v {
			t.Errorf("ReadRange(%q) = %q, %v; want %q", k, got, err, v)
		}
	}
}

// contractMissing: a missing object is not found, with an error naming it.
func contractMissing(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, key := range []string{".pulumi/stacks/demo/missing.json", "nowhere/x", ".pulumi/stacks/demo/dev.json.attrs.missing", ".pulumi/stacks/demo"} {
		rc, err := s.ReadRange(ctx, key, 0, -1)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ReadRange(%q) = %v, want store.ErrNotFound", key, err)
		}
		if rc != nil {
			rc.Close()
		}
		if err != nil && !strings.Contains(err.Error(), strings.TrimPrefix(key, ".pulumi/")) {
			t.Errorf("ReadRange(%q) error %q does not name the object", key, err)
		}
		_, err = s.Stat(ctx, key)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Stat(%q) = %v, want store.ErrNotFound", key, err)
		}
		if err != nil && !strings.Contains(err.Error(), strings.TrimPrefix(key, ".pulumi/")) {
			t.Errorf("Stat(%q) error %q does not name the object", key, err)
		}
	}
}

// contractLocation: a location names its key, and two keys apart.
func contractLocation(t *testing.T, s store.Store) {
	seen := map[string]string{}
	for k := range contractObjects {
		loc := s.Location(k)
		if !strings.HasSuffix(filepath.ToSlash(loc), k) {
			t.Errorf("Location(%q) = %q, want it to end in the key", k, loc)
		}
		if other, dup := seen[loc]; dup {
			t.Errorf("Location(%q) = Location(%q) = %q", k, other, loc)
		}
		seen[loc] = k
	}
}

// contractCancelled: a call made with an ended context fails with the
// context's error, not a store error.
func contractCancelled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	check := func(call string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrAccessDenied) {
			t.Errorf("%s with a cancelled context = %v, want context.Canceled", call, err)
		}
	}
	check("List", s.List(ctx, ".pulumi/", true, func(store.Object) error { return nil }))
	_, err := s.Stat(ctx, ".pulumi/meta.yaml")
	check("Stat", err)
	rc, err := s.ReadRange(ctx, ".pulumi/meta.yaml", 0, -1)
	if rc != nil {
		rc.Close()
	}
	check("ReadRange", err)
}

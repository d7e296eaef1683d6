package state

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/stacksync/stacksync/pkg/state/store"
	"github.com/stacksync/stacksync/pkg/state/storetest"
)

type stackWant struct {
	ref    string
	key    string
	legacy bool
}

func stacksOf(l Listing) []stackWant {
	var got []stackWant
	for _, s := range l.Stacks {
		got = append(got, stackWant{s.Ref.String(), s.Key, s.Legacy})
	}
	return got
}

func keysOf(objs []store.Object) []string {
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return keys
}

// projectBucket is a project-mode bucket with every kind of file that can
// sit under .pulumi/stacks/.
func projectBucket() (*Backend, storetest.Mem) {
	b, s := memBackend(nil)
	for _, o := range []struct {
		key string
		mod int
	}{
		// dev: .json.gz newer than .json.
		{".pulumi/stacks/demo/dev.json", 0},
		{".pulumi/stacks/demo/dev.json.gz", 5},
		{".pulumi/stacks/demo/dev.json.bak", 9},
		{".pulumi/stacks/demo/dev.json.gz.bak", 9},
		{".pulumi/stacks/demo/dev.json.1712345678901234567", 9},
		{".pulumi/stacks/demo/dev.json.attrs", 9},
		{".pulumi/stacks/demo/dev.pulumi-tags", 9},
		// prod: .json newer than .json.gz and .json.zst.
		{".pulumi/stacks/demo/prod.json", 7},
		{".pulumi/stacks/demo/prod.json.gz", 3},
		{".pulumi/stacks/demo/prod.json.zst", 6},
		// tie: all three at once: zst wins.
		{".pulumi/stacks/demo/tie.json", 4},
		{".pulumi/stacks/demo/tie.json.gz", 4},
		{".pulumi/stacks/demo/tie.json.zst", 4},
		// tie2: json and gz at once: gz wins.
		{".pulumi/stacks/demo/tie2.json", 4},
		{".pulumi/stacks/demo/tie2.json.gz", 4},
		// gone: a .bak alone is not a stack.
		{".pulumi/stacks/demo/gone.json.bak", 1},
		{".pulumi/stacks/demo/gone.pulumi-tags", 1},
		// stage: a .yaml checkpoint Pulumi lists but cannot read.
		{".pulumi/stacks/demo/stage.yaml", 1},
		// Not stacks.
		{".pulumi/stacks/demo/.json", 1},
		{".pulumi/stacks/demo/..json", 1},
		{".pulumi/stacks/demo/sub/deep.json", 1},
		{".pulumi/stacks/bad$proj/dev.json", 1},
		{".pulumi/stacks/../dev.json", 1},
		// Another project.
		{".pulumi/stacks/other/dev.json.zst", 2},
		// Left in the legacy location.
		{".pulumi/stacks/old.json", 1},
		{".pulumi/stacks/old.json.bak", 1},
		// Not under stacks/ at all.
		{".pulumi/backups/demo/dev/dev.1712345678901234567.json", 1},
		{".pulumi/history/demo/dev/dev-1712345678901234567.checkpoint.json", 1},
	} {
		s.Put(o.key, []byte("{}"), tN(o.mod))
	}
	return b, s
}

func TestListStacks(t *testing.T) {
	ctx := context.Background()
	b, _ := projectBucket()
	l, err := b.ListStacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if layout, err := b.detectedLayout(ctx); l.Legacy || err != nil || layout != (keyLayout{MetaVersion: 1}) {
		t.Errorf("Legacy = %v, layout = %+v, %v; want project mode, meta version 1", l.Legacy, layout, err)
	}
	want := []stackWant{
		{"old", ".pulumi/stacks/old.json", true},
		{"demo/dev", ".pulumi/stacks/demo/dev.json.gz", false},
		{"demo/prod", ".pulumi/stacks/demo/prod.json", false},
		{"demo/tie", ".pulumi/stacks/demo/tie.json.zst", false},
		{"demo/tie2", ".pulumi/stacks/demo/tie2.json.gz", false},
		{"other/dev", ".pulumi/stacks/other/dev.json.zst", false},
	}
	if got := stacksOf(l); !reflect.DeepEqual(got, want) {
		t.Errorf("ListStacks =\n %+v\nwant\n %+v", got, want)
	}
	if got, want := keysOf(l.Unreadable), []string{".pulumi/stacks/demo/stage.yaml"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Unreadable = %q, want %q", got, want)
	}
	for _, s := range l.Stacks {
		if s.Ref.String() == "demo/dev" && (!s.ModTime.Equal(tN(5)) || s.Size != 2) {
			t.Errorf("demo/dev object = %+v", s.Object)
		}
	}

	// Project filter: only that project, plus the legacy files.
	l, err = b.ListStacks(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	want = []stackWant{
		{"old", ".pulumi/stacks/old.json", true},
		{"other/dev", ".pulumi/stacks/other/dev.json.zst", false},
	}
	if got := stacksOf(l); !reflect.DeepEqual(got, want) {
		t.Errorf("ListStacks(other) =\n %+v\nwant\n %+v", got, want)
	}
	if len(l.Unreadable) != 0 {
		t.Errorf("ListStacks(other).Unreadable = %q", keysOf(l.Unreadable))
	}

	l, err = b.ListStacks(ctx, "demo", "other", "nosuch")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(l.Stacks); got != 6 {
		t.Errorf("ListStacks(demo, other, nosuch) = %d stacks, want 6: %+v", got, stacksOf(l))
	}

	for _, bad := range []string{".", "..", "a/b", ""} {
		if _, err := b.ListStacks(ctx, bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ListStacks(%q) = %v, want ErrInvalidName", bad, err)
		}
	}
}

func TestListStacksOrderIndependent(t *testing.T) {
	// The tie rule depends on listing order only through key order, which
	// the Store contract fixes; a store built in another insertion order
	// gives the same result.
	ctx := context.Background()
	b, s := memBackend(nil)
	for _, k := range []string{".pulumi/stacks/p/a.json.zst", ".pulumi/stacks/p/a.json", ".pulumi/stacks/p/a.json.gz"} {
		s.Put(k, []byte("{}"), t0)
	}
	l, err := b.ListStacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := stacksOf(l); len(got) != 1 || got[0].key != ".pulumi/stacks/p/a.json.zst" {
		t.Errorf("ListStacks = %+v", got)
	}
}

func TestListStacksLegacy(t *testing.T) {
	ctx := context.Background()
	for _, meta := range []string{"", "version: 0\n"} {
		objs := map[string][]byte{metaKey: nil}
		if meta != "" {
			objs[metaKey] = []byte(meta)
		}
		b, s := memBackend(objs)
		s.Put(".pulumi/stacks/dev.json", []byte("{}"), tN(1))
		s.Put(".pulumi/stacks/dev.json.gz", []byte("{}"), tN(2))
		s.Put(".pulumi/stacks/prod.json", []byte("{}"), tN(1))
		s.Put(".pulumi/stacks/prod.json.bak", []byte("{}"), tN(1))
		s.Put(".pulumi/stacks/gone.json.bak", []byte("{}"), tN(1))
		s.Put(".pulumi/stacks/stage.yml", []byte("{}"), tN(1))
		s.Put(".pulumi/stacks/demo/x.json", []byte("{}"), tN(1)) // not in legacy mode
		l, err := b.ListStacks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !l.Legacy {
			t.Errorf("meta %q: Legacy = false, want legacy", meta)
		}
		want := []stackWant{
			{"dev", ".pulumi/stacks/dev.json.gz", true},
			{"prod", ".pulumi/stacks/prod.json", true},
		}
		if got := stacksOf(l); !reflect.DeepEqual(got, want) {
			t.Errorf("meta %q: ListStacks =\n %+v\nwant\n %+v", meta, got, want)
		}
		if got := keysOf(l.Unreadable); !reflect.DeepEqual(got, []string{".pulumi/stacks/stage.yml"}) {
			t.Errorf("meta %q: Unreadable = %q", meta, got)
		}
		// A project filter means nothing in legacy mode.
		l2, err := b.ListStacks(ctx, "demo")
		if err != nil || !reflect.DeepEqual(stacksOf(l2), want) {
			t.Errorf("meta %q: ListStacks(demo) = %+v, %v", meta, stacksOf(l2), err)
		}

		so, err := b.Find(ctx, StackRef{Name: "dev"})
		if err != nil || so.Key != ".pulumi/stacks/dev.json.gz" || !so.Legacy {
			t.Errorf("meta %q: Find(dev) = %+v, %v", meta, so, err)
		}
	}
}

func TestListStacksEmpty(t *testing.T) {
	b, _ := memBackend(map[string][]byte{metaKey: nil})
	l, err := b.ListStacks(context.Background())
	layout, lerr := b.detectedLayout(context.Background())
	if err != nil || len(l.Stacks) != 0 || len(l.Unreadable) != 0 || l.Legacy || lerr != nil || layout != (keyLayout{MetaVersion: -1}) {
		t.Errorf("ListStacks of an empty bucket = %+v, %v", l, err)
	}
}

func TestListStacksBadMeta(t *testing.T) {
	b, _ := memBackend(map[string][]byte{metaKey: []byte("version: 7\n")})
	if _, err := b.ListStacks(context.Background()); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("ListStacks = %v, want ErrUnsupportedVersion", err)
	}
	if _, err := b.Find(context.Background(), StackRef{"demo", "dev"}); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("Find = %v, want ErrUnsupportedVersion", err)
	}
}

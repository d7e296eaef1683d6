package state

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

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

func TestFind(t *testing.T) {
	ctx := context.Background()
	b, _ := projectBucket()
	l, err := b.ListStacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Find picks the same object as ListStacks for every project stack.
	for _, s := range l.Stacks {
		if s.Legacy {
			continue
		}
		got, err := b.Find(ctx, s.Ref)
		if err != nil || got != s {
			t.Errorf("Find(%s) = %+v, %v; want %+v", s.Ref, got, err, s)
		}
	}
	for _, ref := range []StackRef{{"demo", "gone"}, {"demo", "stage"}, {"demo", "missing"}, {"nosuch", "dev"}, {"demo", "de"}} {
		_, err := b.Find(ctx, ref)
		if !errors.Is(err, ErrStackNotFound) || !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Find(%s) = %v, want ErrStackNotFound wrapping store.ErrNotFound", ref, err)
		}
		if err != nil && !strings.Contains(err.Error(), ref.String()) {
			t.Errorf("Find(%s) error %q does not name the stack", ref, err)
		}
	}
	for _, ref := range []StackRef{{"demo", "."}, {"demo", ".."}, {"..", "dev"}, {"", "old"}, {"demo", ""}, {"demo", "a/b"}} {
		if _, err := b.Find(ctx, ref); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Find(%+v) = %v, want ErrInvalidName", ref, err)
		}
	}
}

func TestErrStackNotFound(t *testing.T) {
	if !errors.Is(ErrStackNotFound, store.ErrNotFound) {
		t.Error("ErrStackNotFound does not wrap store.ErrNotFound")
	}
	// The other way round, on purpose: a missing object is no missing
	// stack.
	//lint:ignore SA1032 the arguments are swapped to check the relation is one-way
	if errors.Is(store.ErrNotFound, ErrStackNotFound) {
		t.Error("store.ErrNotFound matches ErrStackNotFound")
	}
}

// TestReadHeadBytes checks that ReadHead reads each checkpoint whole, once,
// with one request: pulumi decodes the whole file, so a provider, a
// duplicate key or trailing garbage anywhere in it matters.
func TestReadHeadBytes(t *testing.T) {
	ctx := context.Background()
	small := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey), Resources: 1}.Build()
	large := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey), ResourceBytes: 20 << 20}.Build()
	after := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey), ResourceBytes: 4 << 20, ProviderLast: true}.Build()
	largeGzip := storetest.Gzip(t, large)
	tests := []struct {
		name string
		data []byte
	}{
		{"small checkpoint", small},
		{"20 MB checkpoint", large},
		{"20 MB gzip checkpoint", largeGzip},
		{"provider after 4 MB of resources", after},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := storetest.NewMem()
			mem.Put(".pulumi/stacks/demo/dev.json", tt.data, t0)
			cs := storetest.NewCounting(mem)
			b := newBackend(nil, cs)
			h, err := b.ReadHead(ctx, ".pulumi/stacks/demo/dev.json")
			if err != nil {
				t.Fatal(err)
			}
			if !sameProvider(h.Provider, provKMS) {
				t.Errorf("Provider = %s, want %s", provString(h.Provider), provString(provKMS))
			}
			if got := cs.Bytes(); got != int64(len(tt.data)) {
				t.Errorf("store served %d bytes, want the object's %d", got, len(tt.data))
			}
			if got := cs.Reads(); got != 1 {
				t.Errorf("%d ReadRange calls, want 1", got)
			}
		})
	}
}

func TestReadHeadNameDoesNotDecide(t *testing.T) {
	// Compression comes from the magic bytes, whatever the key says.
	ctx := context.Background()
	plain := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey)}.Build()
	b, s := memBackend(nil)
	s.Put(".pulumi/stacks/demo/a.json", storetest.Gzip(t, plain), t0)
	s.Put(".pulumi/stacks/demo/b.json.gz", storetest.Zstd(t, plain), t0)
	s.Put(".pulumi/stacks/demo/c.json.zst", plain, t0)
	for key, comp := range map[string]string{
		".pulumi/stacks/demo/a.json":     CompressionGzip,
		".pulumi/stacks/demo/b.json.gz":  CompressionZstd,
		".pulumi/stacks/demo/c.json.zst": CompressionNone,
	} {
		h, err := b.ReadHead(ctx, key)
		if err != nil || h.Compression != comp || !sameProvider(h.Provider, provKMS) {
			t.Errorf("ReadHead(%s) = %+v %s, %v; want %s", key, h, provString(h.Provider), err, comp)
		}
	}
}

func TestReadHeadErrors(t *testing.T) {
	ctx := context.Background()
	b, s := memBackend(nil)
	s.Put(".pulumi/stacks/demo/bad.json", []byte(`{"version":3,"checkpoint":`), t0)
	s.Put(".pulumi/stacks/demo/new.json", []byte(`{"version":9,"checkpoint":{}}`), t0)
	b.Store = storetest.NewFaults(s, map[string]error{".pulumi/stacks/demo/vanished.json": store.ErrNotFound}, nil)
	for key, want := range map[string]error{
		".pulumi/stacks/demo/missing.json":  store.ErrNotFound,
		".pulumi/stacks/demo/vanished.json": store.ErrNotFound,
		".pulumi/stacks/demo/bad.json":      ErrCorrupt,
		".pulumi/stacks/demo/new.json":      ErrUnsupportedVersion,
	} {
		_, err := b.ReadHead(ctx, key)
		if !errors.Is(err, want) {
			t.Errorf("ReadHead(%s) = %v, want %v", key, err, want)
		}
		if err != nil && !strings.Contains(err.Error(), key) {
			t.Errorf("ReadHead(%s) error %q does not name the object", key, err)
		}
	}
}

// historyBucket holds backups and history for demo/dev (and decoys).
func historyBucket(t *testing.T) *Backend {
	kms := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey)}.Build()
	pass := storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt)}.Build()
	none := storetest.Checkpoint{Version: 3, Resources: 1}.Build()
	b, s := memBackend(nil)
	for k, v := range map[string][]byte{
		".pulumi/stacks/demo/dev.json":                                           pass,
		".pulumi/backups/demo/dev/dev.1000000000000000001.json":                  kms,
		".pulumi/backups/demo/dev/dev.1000000000000000003.json.gz":               storetest.Gzip(t, kms),
		".pulumi/history/demo/dev/dev-1000000000000000002.checkpoint.json":       kms,
		".pulumi/history/demo/dev/dev-1000000000000000002.history.json":          []byte(`{"kind":"update","startTime":1,"message":"","environment":{},"config":{},"version":2,"result":"succeeded","endTime":2,"resourceChanges":{}}`),
		".pulumi/history/demo/dev/dev-1000000000000000004.checkpoint.json.zst":   storetest.Zstd(t, none),
		".pulumi/history/demo/dev/dev-1000000000000000004.history.json.zst":      storetest.Zstd(t, []byte(`{"kind":"update"}`)),
		".pulumi/history/demo/dev/dev-1000000000000000005.checkpoint.json":       []byte(`{"version":3,"checkpoint":`),
		".pulumi/backups/demo/dev/dev.notanumber.json":                           kms,
		".pulumi/backups/demo/dev/dev.1000000000000000009.json.bak":              kms,
		".pulumi/backups/demo/dev/dev.1000000000000000009.yaml":                  kms,
		".pulumi/backups/demo/dev/other.1000000000000000009.json":                kms,
		".pulumi/backups/demo/dev/dev.1000000000000000009":                       kms,
		".pulumi/backups/demo/dev/sub/dev.1000000000000000009.json":              kms,
		".pulumi/backups/demo/dev2/dev2.1000000000000000009.json":                kms,
		".pulumi/history/demo/dev2/dev2-1000000000000000009.checkpoint.json":     kms,
		".pulumi/history/demo/dev/dev-1000000000000000009.checkpoint.json.bak":   kms,
		".pulumi/history/demo/dev/dev-1000000000000000009.checkpointx.json":      kms,
		".pulumi/history/demo/dev.eu/dev.eu-1000000000000000007.checkpoint.json": pass,
		".pulumi/backups/demo/dev.eu/dev.eu.1000000000000000006.json":            kms,
	} {
		s.Put(k, v, t0)
	}
	return b
}

func TestHistory(t *testing.T) {
	ctx := context.Background()
	b := historyBucket(t)
	type rec struct {
		kind, key string
		nanos     int64
		prov      *SecretsProvider
		corrupt   bool
	}
	all := []rec{
		{"history", ".pulumi/history/demo/dev/dev-1000000000000000005.checkpoint.json", 1000000000000000005, nil, true},
		{"history", ".pulumi/history/demo/dev/dev-1000000000000000004.checkpoint.json.zst", 1000000000000000004, nil, false},
		{"backup", ".pulumi/backups/demo/dev/dev.1000000000000000003.json.gz", 1000000000000000003, provKMS, false},
		{"history", ".pulumi/history/demo/dev/dev-1000000000000000002.checkpoint.json", 1000000000000000002, provKMS, false},
		{"backup", ".pulumi/backups/demo/dev/dev.1000000000000000001.json", 1000000000000000001, provKMS, false},
	}
	check := func(name string, got []Record, want []rec) {
		t.Helper()
		if len(got) != len(want) {
			var keys []string
			for _, r := range got {
				keys = append(keys, r.Key)
			}
			t.Fatalf("%s: %d records %q, want %d", name, len(got), keys, len(want))
		}
		for i, w := range want {
			g := got[i]
			if g.Kind != w.kind || g.Key != w.key || !g.Time.Equal(time.Unix(0, w.nanos)) || !sameProvider(g.Head.Provider, w.prov) {
				t.Errorf("%s[%d] = %s %s %v %s, want %s %s %v %s", name, i, g.Kind, g.Key, g.Time, provString(g.Head.Provider),
					w.kind, w.key, time.Unix(0, w.nanos), provString(w.prov))
			}
			if w.corrupt != errors.Is(g.Err, ErrCorrupt) {
				t.Errorf("%s[%d].Err = %v, want corrupt %v", name, i, g.Err, w.corrupt)
			}
			if !w.corrupt && g.Err != nil {
				t.Errorf("%s[%d].Err = %v", name, i, g.Err)
			}
		}
	}
	got, err := b.History(ctx, StackRef{"demo", "dev"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("History(0)", got, all)
	got, err = b.History(ctx, StackRef{"demo", "dev"}, foundProviders(1))
	if err != nil {
		t.Fatal(err)
	}
	check("History(1)", got, all[:3])
	got, err = b.History(ctx, StackRef{"demo", "dev"}, foundProviders(2))
	if err != nil {
		t.Fatal(err)
	}
	check("History(2)", got, all[:4])
	got, err = b.History(ctx, StackRef{"demo", "dev"}, foundProviders(10))
	if err != nil {
		t.Fatal(err)
	}
	check("History(10)", got, all)

	// A stack name with a dot.
	got, err = b.History(ctx, StackRef{"demo", "dev.eu"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("History(dev.eu)", got, []rec{
		{"history", ".pulumi/history/demo/dev.eu/dev.eu-1000000000000000007.checkpoint.json", 1000000000000000007, provPassphrase, false},
		{"backup", ".pulumi/backups/demo/dev.eu/dev.eu.1000000000000000006.json", 1000000000000000006, provKMS, false},
	})

	got, err = b.History(ctx, StackRef{"demo", "none"}, nil)
	if err != nil || len(got) != 0 {
		t.Errorf("History(none) = %+v, %v", got, err)
	}
}

func TestHistoryLegacy(t *testing.T) {
	ctx := context.Background()
	kms := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey)}.Build()
	b, s := memBackend(map[string][]byte{metaKey: []byte("version: 0\n")})
	s.Put(".pulumi/stacks/dev.json", kms, t0)
	s.Put(".pulumi/backups/dev/dev.1000000000000000001.json", kms, t0)
	s.Put(".pulumi/history/dev/dev-1000000000000000002.checkpoint.json", kms, t0)
	s.Put(".pulumi/backups/demo/dev/dev.1000000000000000003.json", kms, t0) // project layout: not read
	got, err := b.History(ctx, StackRef{Name: "dev"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Key != ".pulumi/history/dev/dev-1000000000000000002.checkpoint.json" || got[1].Key != ".pulumi/backups/dev/dev.1000000000000000001.json" {
		t.Errorf("History = %+v", got)
	}
}

func TestLocks(t *testing.T) {
	ctx := context.Background()
	b, s := memBackend(nil)
	const lock = `{"pid":4242,"username":"alice","hostname":"build-7","timestamp":"2026-03-20T10:11:12.5Z"}`
	s.Put(".pulumi/locks/organization/demo/dev/3f0c2a9e-7d4b-4a8e-9b1c-0e5f6a7b8c9d.json", []byte(lock), t0)
	s.Put(".pulumi/locks/organization/demo/dev/9a8b7c6d-0000-4000-8000-000000000000.json", []byte("not json"), t0)
	s.Put(".pulumi/locks/organization/demo/dev/readme.txt", []byte("x"), t0)
	s.Put(".pulumi/locks/organization/demo/dev/sub/x.json", []byte(lock), t0)
	s.Put(".pulumi/locks/organization/demo/prod/1.json", []byte(lock), t0)
	s.Put(".pulumi/locks/old/2.json", []byte(lock), t0)
	s.Put(".pulumi/locks/weird.json", []byte(lock), t0)

	got, err := b.Locks(ctx, StackRef{"demo", "dev"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Lock{
		{Key: ".pulumi/locks/organization/demo/dev/3f0c2a9e-7d4b-4a8e-9b1c-0e5f6a7b8c9d.json", PID: 4242, Username: "alice", Hostname: "build-7",
			Timestamp: time.Date(2026, 3, 20, 10, 11, 12, 5e8, time.UTC)},
		{Key: ".pulumi/locks/organization/demo/dev/9a8b7c6d-0000-4000-8000-000000000000.json"},
		// Pulumi counts any file in the lock directory as a lock.
		{Key: ".pulumi/locks/organization/demo/dev/readme.txt"},
	}
	if len(got) != len(want) {
		t.Fatalf("Locks = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Key != want[i].Key || got[i].PID != want[i].PID || got[i].Username != want[i].Username ||
			got[i].Hostname != want[i].Hostname || !got[i].Timestamp.Equal(want[i].Timestamp) {
			t.Errorf("Locks[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if got, err := b.Locks(ctx, StackRef{"demo", "staging"}); err != nil || len(got) != 0 {
		t.Errorf("Locks(unlocked) = %+v, %v", got, err)
	}

	locked, err := b.lockedStacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantLocked := map[StackRef]bool{{"demo", "dev"}: true, {"demo", "prod"}: true, {Name: "old"}: true}
	if !reflect.DeepEqual(locked, wantLocked) {
		t.Errorf("lockedStacks = %v, want %v", locked, wantLocked)
	}
}

func TestLocksLegacy(t *testing.T) {
	ctx := context.Background()
	b, s := memBackend(map[string][]byte{metaKey: []byte("version: 0\n")})
	const lock = `{"pid":1,"username":"bob","hostname":"h","timestamp":"2026-03-20T10:11:12Z"}`
	s.Put(".pulumi/locks/dev/3f0c.json", []byte(lock), t0)
	s.Put(".pulumi/locks/organization/demo/prod/1.json", []byte(lock), t0)
	got, err := b.Locks(ctx, StackRef{Name: "dev"})
	if err != nil || len(got) != 1 || got[0].Username != "bob" {
		t.Errorf("Locks(dev) = %+v, %v", got, err)
	}
	locked, err := b.lockedStacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[StackRef]bool{{Name: "dev"}: true}; !reflect.DeepEqual(locked, want) {
		t.Errorf("lockedStacks = %v, want %v", locked, want)
	}
}

func TestProvider(t *testing.T) {
	ctx := context.Background()
	b := historyBucket(t)
	kms := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey)}.Build()
	none := storetest.Checkpoint{Version: 3, NoLatest: true}.Build()
	s := b.Store.(storetest.Mem)
	s.Put(".pulumi/stacks/demo/kms.json", kms, t0)
	s.Put(".pulumi/stacks/demo/dev2.json", none, t0)
	s.Put(".pulumi/stacks/demo/lonely.json", none, t0)
	// The backups fallback skips newer records that record nothing or do
	// not decode, and takes the newest that records a provider.
	pass := storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt)}.Build()
	s.Put(".pulumi/stacks/demo/fallen.json", none, t0)
	s.Put(".pulumi/backups/demo/fallen/fallen.1000000000000000040.json", []byte(`{"version":3,"checkpoint":`), t0)
	s.Put(".pulumi/history/demo/fallen/fallen-1000000000000000030.checkpoint.json", storetest.Checkpoint{Version: 3, Resources: 1}.Build(), t0)
	s.Put(".pulumi/backups/demo/fallen/fallen.1000000000000000020.json", pass, t0)
	s.Put(".pulumi/backups/demo/fallen/fallen.1000000000000000010.json", kms, t0)

	tests := []struct {
		ref      StackRef
		fallback bool
		want     *SecretsProvider
		source   string
		wantErr  error
	}{
		{StackRef{"demo", "dev"}, false, provPassphrase, "checkpoint", nil},
		{StackRef{"demo", "kms"}, true, provKMS, "checkpoint", nil},
		// Backup and history of the same instant: the backup comes first.
		{StackRef{"demo", "dev2"}, true, provKMS, "backup", nil},
		{StackRef{"demo", "dev2"}, false, nil, "", ErrNoProvider},
		{StackRef{"demo", "lonely"}, true, nil, "", ErrNoProvider},
		{StackRef{"demo", "fallen"}, true, provPassphrase, "backup", nil},
		{StackRef{"demo", "missing"}, true, nil, "", ErrStackNotFound},
	}
	for _, tt := range tests {
		res, err := b.provider(ctx, tt.ref, lookupOptions{Fallback: tt.fallback})
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Provider(%s, %v) = %v, want %v", tt.ref, tt.fallback, err, tt.wantErr)
			}
			continue
		}
		if tt.ref.Name == "fallen" && res.Source.Key != ".pulumi/backups/demo/fallen/fallen.1000000000000000020.json" {
			t.Errorf("Provider(fallen) came from %s, want the newest backup that records one", res.Source.Key)
		}
		if err != nil || res.Provider != *tt.want || res.Source.Kind != tt.source {
			t.Errorf("Provider(%s, %v) = %+v from %s, %v; want %+v from %s", tt.ref, tt.fallback, res.Provider, res.Source.Kind, err, *tt.want, tt.source)
		}
	}
}

// TestReadHeadStoreErrors checks that a store's error reaches the caller as
// itself (not found, access denied), not as corrupt state.
func TestReadHeadStoreErrors(t *testing.T) {
	ctx := context.Background()
	small := storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt)}.Build()
	after := storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt), ResourceBytes: 128 << 10, ProviderLast: true}.Build()
	mem := storetest.NewMem()
	for _, k := range []string{"gone", "denied", "denied-gz", "cut", "cut-gz"} {
		mem.Put(k, small, t0)
	}
	mem.Put("cut", after, t0)
	mem.Put("cut-gz", storetest.Gzip(t, after), t0)
	mem.Put("denied-gz", storetest.Gzip(t, small), t0)
	reset := errors.New("connection reset by peer")
	b := newBackend(nil, storetest.NewFaults(mem,
		map[string]error{"gone": store.ErrNotFound, "denied": store.ErrAccessDenied, "denied-gz": store.ErrAccessDenied},
		map[string]error{"cut": reset, "cut-gz": reset},
	))
	for key, want := range map[string]error{"gone": store.ErrNotFound, "denied": store.ErrAccessDenied, "denied-gz": store.ErrAccessDenied, "cut": reset, "cut-gz": reset} {
		_, err := b.ReadHead(ctx, key)
		if !errors.Is(err, want) || errors.Is(err, ErrCorrupt) {
			t.Errorf("ReadHead(%s) = %v, want %v and not corrupt", key, err, want)
		}
		if err != nil && !strings.Contains(err.Error(), "mem://"+key) {
			t.Errorf("ReadHead(%s) error %q does not name the object", key, err)
		}
	}
}

// foundProviders returns a History stop condition: after n records that
// hold a provider.
func foundProviders(n int) func(Record) bool {
	found := 0
	return func(r Record) bool {
		if r.Err == nil && r.Head.Provider != nil {
			found++
		}
		return found >= n
	}
}

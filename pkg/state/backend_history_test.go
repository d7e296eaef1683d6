package state

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/state/storetest"
)

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

package state

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/pkg/state/storetest"
)

func TestAuditHistory(t *testing.T) {
	ctx := context.Background()
	kms := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey)}.Build()
	kmsRekeyed := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, auditOtherKey)}.Build()
	otherKMS := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(auditKeyIDURL, testKMSKey)}.Build()
	pass := storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt)}.Build()
	pass2 := storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase("v1:b3RoZXJzYWx0:v1:bm9uY2Vub25jZQ==:Y2lwaGVy")}.Build()
	none := storetest.Checkpoint{Version: 3, Resources: 1}.Build()
	b, s := memBackend(map[string][]byte{
		// Live passphrase, older backup awskms: the silent change of §4.5.
		".pulumi/stacks/demo/flipped.json":                              pass,
		".pulumi/backups/demo/flipped/flipped.1000000000000000001.json": kms,
		".pulumi/backups/demo/flipped/flipped.1000000000000000002.json": pass,
		// Only a history checkpoint (zstd) records the earlier provider.
		".pulumi/stacks/demo/fromhist.json.gz":                                           storetest.Gzip(t, pass),
		".pulumi/history/demo/fromhist/fromhist-1000000000000000003.checkpoint.json.zst": storetest.Zstd(t, kms),
		".pulumi/history/demo/fromhist/fromhist-1000000000000000003.history.json":        []byte(`{"kind":"update"}`),
		// The newest differing checkpoint is reported: after the same
		// alias, a key id, then an older passphrase.
		".pulumi/stacks/demo/twice.json":                                       kms,
		".pulumi/backups/demo/twice/twice.1000000000000000001.json":            pass,
		".pulumi/backups/demo/twice/twice.1000000000000000005.json":            otherKMS,
		".pulumi/history/demo/twice/twice-1000000000000000007.checkpoint.json": kms,
		// Same provider, a new data key: not a flip.
		".pulumi/stacks/demo/rekeyed.json":                              kmsRekeyed,
		".pulumi/backups/demo/rekeyed/rekeyed.1000000000000000001.json": kms,
		// Same passphrase provider, a new salt: not a flip.
		".pulumi/stacks/demo/resalted.json":                               pass2,
		".pulumi/backups/demo/resalted/resalted.1000000000000000001.json": pass,
		// Earlier checkpoints that record nothing or are corrupt are no
		// evidence of a flip.
		".pulumi/stacks/demo/noevidence.json":                                    pass,
		".pulumi/backups/demo/noevidence/noevidence.1000000000000000001.json":    none,
		".pulumi/backups/demo/noevidence/noevidence.1000000000000000002.json":    []byte(`{"version":3,"checkpoint":`),
		".pulumi/backups/demo/noevidence/noevidence.1000000000000000003.json.gz": []byte("not gzip at all"),
		// No history at all.
		".pulumi/stacks/demo/nohist.json": pass,
		// A .bak of the live file is not history.
		".pulumi/stacks/demo/bak.json":     pass,
		".pulumi/stacks/demo/bak.json.bak": kms,
		// Another stack's backups do not count.
		".pulumi/stacks/demo/neighbour.json":                                  pass,
		".pulumi/backups/demo/neighbour2/neighbour2.1000000000000000001.json": kms,
		".pulumi/backups/other/neighbour/neighbour.1000000000000000001.json":  kms,
	})
	_ = s
	type flip struct {
		flipped       bool
		prev, prevURL string
		prevObject    string
	}
	want := map[string]flip{
		"flipped":    {true, "awskms", testKMSURL, "mem://.pulumi/backups/demo/flipped/flipped.1000000000000000001.json"},
		"fromhist":   {true, "awskms", testKMSURL, "mem://.pulumi/history/demo/fromhist/fromhist-1000000000000000003.checkpoint.json.zst"},
		"twice":      {true, "awskms", auditKeyIDURL, "mem://.pulumi/backups/demo/twice/twice.1000000000000000005.json"},
		"rekeyed":    {},
		"resalted":   {},
		"noevidence": {},
		"nohist":     {},
		"bak":        {},
		"neighbour":  {},
	}
	for _, run := range []struct {
		mode HistoryMode
		jobs int
	}{{HistoryBounded, 1}, {HistoryBounded, 16}, {HistoryAll, 1}, {HistoryAll, 16}} {
		jobs := fmt.Sprintf("%d, history mode %d", run.jobs, run.mode)
		got, err := auditViews(ctx, b, AuditOptions{History: run.mode, Jobs: run.jobs})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("jobs %s: %d reports, want %d: %+v", jobs, len(got), len(want), got)
		}
		for _, r := range got {
			w, ok := want[r.Stack]
			if !ok {
				t.Errorf("unexpected stack %s", r.Stack)
				continue
			}
			g := flip{r.Flipped, r.PreviousProvider, r.PreviousSecretsProvider, r.PreviousObject}
			if g != w {
				t.Errorf("jobs %s: %s: flipped %+v, want %+v", jobs, r.Stack, g, w)
			}
			if r.Error != "" {
				t.Errorf("%s: error %q", r.Stack, r.Error)
			}
		}
	}
	// Without --history nothing is read beyond the live checkpoints, and
	// nothing is flipped.
	got, err := auditViews(ctx, b, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if r.Flipped || r.PreviousProvider != "" {
			t.Errorf("%s flipped without History: %+v", r.Stack, r)
		}
	}
}

// historyStack builds a stack whose live checkpoint records the passphrase
// provider, with one earlier checkpoint per letter of pattern, newest
// first: S the same provider (a new salt), D another (awskms), C a corrupt
// object, N a checkpoint that records no provider. Records alternate
// between backups and history checkpoints. It returns the backend over a
// counting store and the keys of the records, newest first.
func historyStack(t *testing.T, pattern string) (*Backend, storetest.Counting, []string) {
	t.Helper()
	s := storetest.NewMem()
	s.Put(metaKey, []byte("version: 1\n"), t0)
	s.Put(".pulumi/stacks/demo/dev.json", storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt)}.Build(), t0)
	data := map[byte][]byte{
		'S': storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase("v1:b3RoZXJzYWx0:v1:bm9uY2Vub25jZQ==:Y2lwaGVy")}.Build(),
		'D': storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey)}.Build(),
		'C': []byte(`{"version":3,"checkpoint":{"latest":{"secrets`),
		'N': storetest.Checkpoint{Version: 3, Resources: 1}.Build(),
	}
	keys := make([]string, len(pattern))
	for i := range len(pattern) {
		nanos := 1700000000000000000 + int64(len(pattern)-i)*1000
		if i%2 == 0 {
			keys[i] = fmt.Sprintf(".pulumi/backups/demo/dev/dev.%d.json", nanos)
		} else {
			keys[i] = fmt.Sprintf(".pulumi/history/demo/dev/dev-%d.checkpoint.json", nanos)
		}
		d, ok := data[pattern[i]]
		if !ok {
			t.Fatalf("pattern %q: unknown letter %q", pattern, pattern[i])
		}
		s.Put(keys[i], d, t0)
	}
	cs := storetest.NewCounting(s)
	return newBackend(nil, cs), cs, keys
}

// auditHistoryOf audits the one stack of b and returns its report and the
// number of reads of earlier checkpoints.
func auditHistoryOf(t *testing.T, b *Backend, cs storetest.Counting, mode HistoryMode) (auditView, int) {
	t.Helper()
	got, err := auditViews(context.Background(), b, AuditOptions{History: mode})
	if err != nil || len(got) != 1 {
		t.Fatalf("Audit = %+v, %v; want one stack", got, err)
	}
	if got[0].Error != "" {
		t.Fatalf("Audit: %s", got[0].Error)
	}
	return got[0], int(cs.Reads()) - 2 // meta.yaml and the live checkpoint
}

// newestDiffering is what the exhaustive walk must find: the index of the
// first D, or -1.
func newestDiffering(pattern string) int { return strings.IndexByte(pattern, 'D') }

func TestAuditHistoryBounded(t *testing.T) {
	rep := func(letter string, n int) string { return strings.Repeat(letter, n) }
	tests := []struct {
		name     string
		pattern  string
		maxReads int // of the bounded search
	}{
		{"no history", "", 0},
		{"one record, same", "S", 1},
		{"one record, differs", "D", 1},
		{"never flipped, 200", rep("S", 200), 2},
		{"flipped at the newest", "D" + rep("S", 199), 1},
		{"flipped at the oldest", rep("S", 199) + "D", 10},
		{"all differ", rep("D", 200), 1},
		{"flipped in the middle", rep("S", 100) + rep("D", 100), 10},
		{"flipped after the newest", "S" + rep("D", 199), 10},
		{"flipped near the oldest", rep("S", 190) + rep("D", 10), 10},
		{"newest records corrupt", "CN" + rep("S", 50) + rep("D", 148), 12},
		{"oldest records corrupt", rep("S", 50) + rep("D", 148) + "NC", 12},
		{"corrupt around the flip", rep("S", 60) + rep("C", 5) + rep("N", 5) + rep("D", 130), 20},
		{"corrupt before and after the flip", rep("S", 97) + "CNC" + "NC" + rep("D", 98), 16},
		{"nothing decodes", rep("C", 100) + rep("N", 100), 6},
		{"only corrupt newer than the flip", rep("C", 120) + rep("D", 80), historyMaxReads},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := newestDiffering(tt.pattern)
			for _, mode := range []HistoryMode{HistoryBounded, HistoryAll} {
				b, cs, keys := historyStack(t, tt.pattern)
				r, reads := auditHistoryOf(t, b, cs, mode)
				wantObject := ""
				if want >= 0 {
					wantObject = "mem://" + keys[want]
				}
				if mode == HistoryBounded && want >= 0 && tt.maxReads == historyMaxReads {
					// Past the budget a differing record is named,
					// not necessarily the newest.
					i := slices.Index(keys, strings.TrimPrefix(r.PreviousObject, "mem://"))
					if !r.Flipped || i < 0 || tt.pattern[i] != 'D' {
						t.Errorf("mode %d: flipped %v from %q, want a flip from a differing record", mode, r.Flipped, r.PreviousObject)
					}
				} else if r.Flipped != (want >= 0) || r.PreviousObject != wantObject {
					t.Errorf("mode %d: flipped %v from %q, want %v from %q", mode, r.Flipped, r.PreviousObject, want >= 0, wantObject)
				}
				if r.Flipped && (r.PreviousProvider != "awskms" || r.PreviousSecretsProvider != testKMSURL) {
					t.Errorf("mode %d: previous %s %s, want awskms %s", mode, r.PreviousProvider, r.PreviousSecretsProvider, testKMSURL)
				}
				switch {
				case mode == HistoryBounded && reads > tt.maxReads:
					t.Errorf("bounded search read %d records, want at most %d", reads, tt.maxReads)
				case mode == HistoryAll && want < 0 && reads != len(tt.pattern):
					t.Errorf("exhaustive walk read %d records, want all %d", reads, len(tt.pattern))
				case mode == HistoryAll && want >= 0 && reads != want+1:
					t.Errorf("exhaustive walk read %d records, want %d (up to the newest differing)", reads, want+1)
				}
			}
		})
	}
}

// The bounded search assumes one change: a provider that changed and
// changed back between the records it reads (A…B…A) is missed, as the
// README says, and the exhaustive walk finds it.
func TestAuditHistoryBoundedMissesFlipBack(t *testing.T) {
	pattern := strings.Repeat("S", 50) + strings.Repeat("D", 50) + strings.Repeat("S", 100)
	b, cs, _ := historyStack(t, pattern)
	if r, reads := auditHistoryOf(t, b, cs, HistoryBounded); r.Flipped || reads != 2 {
		t.Errorf("bounded: flipped %v after %d reads; want the flip-back missed after 2", r.Flipped, reads)
	}
	b, cs, keys := historyStack(t, pattern)
	if r, _ := auditHistoryOf(t, b, cs, HistoryAll); !r.Flipped || r.PreviousObject != "mem://"+keys[50] {
		t.Errorf("exhaustive: flipped %v from %q, want from %s", r.Flipped, r.PreviousObject, keys[50])
	}
}

// On histories with one change and a few records that say nothing, the
// bounded search finds what the exhaustive walk finds, within its budget.
func TestAuditHistoryBoundedMatchesExhaustive(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for range 200 {
		n := 1 + rng.IntN(250)
		flip := rng.IntN(n + 1) // records from flip on differ; n: none
		p := []byte(strings.Repeat("S", flip) + strings.Repeat("D", n-flip))
		for range rng.IntN(4) {
			p[rng.IntN(n)] = "CN"[rng.IntN(2)]
		}
		pattern := string(p)
		want := newestDiffering(pattern)
		// A stack that says nothing at either end within the end reads
		// is outside the claim.
		if want >= 0 && !strings.ContainsAny(pattern[max(0, n-historyEndReads):], "SD") {
			continue
		}
		b, cs, keys := historyStack(t, pattern)
		r, reads := auditHistoryOf(t, b, cs, HistoryBounded)
		wantObject := ""
		if want >= 0 {
			wantObject = "mem://" + keys[want]
		}
		if r.Flipped != (want >= 0) || r.PreviousObject != wantObject {
			t.Errorf("%q: flipped %v from %q, want %v from %q", pattern, r.Flipped, r.PreviousObject, want >= 0, wantObject)
		}
		if reads > historyMaxReads {
			t.Errorf("%q: %d reads, budget %d", pattern, reads, historyMaxReads)
		}
	}
}

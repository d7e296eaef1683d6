package state

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/state/storetest"
)

func TestAudit(t *testing.T) {
	ctx := context.Background()
	b, s, want := auditBucket(t)
	got, err := auditViews(ctx, b, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkReports(t, got, want, s)
	for _, r := range got {
		if r.Stack == "twice" && r.Object != "mem://.pulumi/stacks/alpha/twice.json.gz" {
			t.Errorf("twice: object %s, want the newer .json.gz", r.Object)
		}
	}
}

func TestAuditJobsSameResult(t *testing.T) {
	ctx := context.Background()
	var results [][]StackAudit
	for _, jobs := range []int{1, 16, 0, 1000} {
		b, _, _ := auditBucket(t)
		got, err := auditAll(ctx, b, AuditOptions{Jobs: jobs})
		if err != nil {
			t.Fatalf("jobs %d: %v", jobs, err)
		}
		results = append(results, got)
	}
	for i := 1; i < len(results); i++ {
		if !reflect.DeepEqual(results[0], results[i]) {
			t.Errorf("run %d differs from jobs=1:\n%+v\n%+v", i, results[i], results[0])
		}
	}
}

func TestAuditProjectFilter(t *testing.T) {
	ctx := context.Background()
	b, s, all := auditBucket(t)
	got, err := auditViews(ctx, b, AuditOptions{Projects: []string{"beta"}})
	if err != nil {
		t.Fatal(err)
	}
	var want []auditWant
	for _, w := range all {
		// A legacy file's project is unknown from its key, so a project
		// filter keeps it.
		if w.project == "beta" || w.legacy {
			want = append(want, w)
		}
	}
	checkReports(t, got, want, s)

	if _, err := auditViews(ctx, b, AuditOptions{Projects: []string{"../x"}}); err == nil {
		t.Errorf("Audit with project ../x: no error")
	}
	got, err = auditViews(ctx, b, AuditOptions{Projects: []string{"nosuch"}})
	if err != nil || len(got) != 1 || !got[0].Legacy {
		t.Errorf("Audit of a project with no stacks = %+v, %v; want the legacy stack only", got, err)
	}
}

func TestAuditLegacyBucket(t *testing.T) {
	ctx := context.Background()
	cloud := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(auditAliasURL, testKMSKey)}.Build()
	b, _ := memBackend(map[string][]byte{
		metaKey:                             nil,
		".pulumi/stacks/dev.json":           cloud,
		".pulumi/stacks/prod.json.gz":       storetest.Gzip(t, storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt)}.Build()),
		".pulumi/stacks/prod.json.bak":      cloud,
		".pulumi/locks/dev/1.json":          []byte(`{}`),
		".pulumi/backups/dev/dev.1.json":    storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt)}.Build(),
		".pulumi/history/prod/prod-1.json":  cloud,
		".pulumi/stacks/proj/nested.json":   cloud,
		".pulumi/backups/prod/prod.5.json":  cloud,
		".pulumi/history/dev/dev-9.history": cloud,
	})
	for _, mode := range []HistoryMode{HistoryBounded, HistoryAll} {
		got, err := auditViews(ctx, b, AuditOptions{History: mode})
		if err != nil {
			t.Fatal(err)
		}
		checkLegacyAudit(t, mode, got)
	}
}

func checkLegacyAudit(t *testing.T, mode HistoryMode, got []auditView) {
	t.Helper()
	if len(got) != 2 {
		t.Fatalf("history mode %d: legacy audit = %+v, want dev and prod", mode, got)
	}
	dev, prod := got[0], got[1]
	if dev.Stack != "dev" || dev.Project != "" || !dev.Legacy || !dev.Locked || dev.Provider != "awskms" || !dev.Flipped || dev.PreviousProvider != "passphrase" {
		t.Errorf("history mode %d: dev = %+v", mode, dev)
	}
	if prod.Stack != "prod" || !prod.Legacy || prod.Locked || prod.Provider != "passphrase" || prod.Compression != "gzip" ||
		!prod.Flipped || prod.PreviousProvider != "awskms" || prod.PreviousSecretsProvider != auditAliasURL ||
		prod.PreviousObject != "mem://.pulumi/backups/prod/prod.5.json" {
		t.Errorf("history mode %d: prod = %+v", mode, prod)
	}
}

func TestAuditReadsEachCheckpointOnce(t *testing.T) {
	ctx := context.Background()
	_, s, want := auditBucket(t)
	cs := storetest.NewCounting(s)
	b := newBackend(nil, cs)
	got, err := auditViews(ctx, b, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d reports, want %d", len(got), len(want))
	}
	var sum int64
	reads := 0
	for _, r := range got {
		if strings.HasSuffix(r.Object, ".yaml") {
			continue // pulumi cannot read it, so neither is it read
		}
		sum += r.Size
		reads++
	}
	// meta.yaml once, then one ranged read per readable stack; lock files
	// are listed, not read.
	if got := cs.Reads(); got != int64(reads)+1 {
		t.Errorf("%d ReadRange calls, want %d (meta.yaml + one per checkpoint)", got, reads+1)
	}
	if cs.Bytes() != sum+int64(len("version: 1\n")) {
		t.Errorf("store served %d bytes, want %d", cs.Bytes(), sum+int64(len("version: 1\n")))
	}
}

func TestAuditProgress(t *testing.T) {
	ctx := context.Background()
	b, _, want := auditBucket(t)
	var mu sync.Mutex
	var dones []int
	readable := 0
	for _, w := range want {
		if w.stack != "yaml" {
			readable++
		}
	}
	_, err := auditViews(ctx, b, AuditOptions{Jobs: 4, Progress: func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if total != readable {
			t.Errorf("progress total %d, want %d", total, readable)
		}
		dones = append(dones, done)
	}})
	if err != nil {
		t.Fatal(err)
	}
	sort.Ints(dones)
	for i, d := range dones {
		if d != i+1 {
			t.Fatalf("progress done values %v, want 1..%d", dones, readable)
		}
	}
	if len(dones) != readable {
		t.Errorf("progress called %d times, want %d", len(dones), readable)
	}
}

func TestAuditCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	b, _, _ := auditBucket(t)
	cancel()
	if got, err := auditViews(ctx, b, AuditOptions{}); err == nil {
		t.Errorf("Audit with a cancelled context = %d reports, no error", len(got))
	}
}

func TestAuditEmpty(t *testing.T) {
	b, _ := memBackend(nil)
	got, err := auditViews(context.Background(), b, AuditOptions{History: HistoryBounded})
	if err != nil || len(got) != 0 {
		t.Errorf("Audit of an empty bucket = %+v, %v", got, err)
	}
}

// A .yaml stack file next to a readable .json of the same stack does not
// make the stack unreadable: pulumi lists the stack twice but loads the
// .json. The audit reports the stack once, from the .json.
func TestAuditYAMLBesideJSON(t *testing.T) {
	b, _ := memBackend(map[string][]byte{
		".pulumi/stacks/demo/dev.json":  storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt)}.Build(),
		".pulumi/stacks/demo/dev.yaml":  []byte("version: 3\n"),
		".pulumi/stacks/demo/only.yaml": []byte("version: 3\n"),
	})
	got, err := auditViews(context.Background(), b, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, r := range got {
		rows = append(rows, r.Stack+":"+r.Provider+":"+r.Error)
	}
	if len(got) != 2 || got[0].Stack != "dev" || got[0].Provider != "passphrase" || got[0].Error != "" ||
		got[1].Stack != "only" || got[1].Error == "" {
		t.Errorf("audit = %q; want dev (passphrase, no error) once and only (unreadable)", rows)
	}
}

// manyStacks returns a backend of n passphrase stacks over a counting
// store.
func manyStacks(n int) (*Backend, storetest.Counting) {
	s := storetest.NewMem()
	s.Put(metaKey, []byte("version: 1\n"), t0)
	data := storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt)}.Build()
	for i := range n {
		s.Put(fmt.Sprintf(".pulumi/stacks/demo/s%04d.json", i), data, t0)
	}
	cs := storetest.NewCounting(s)
	return newBackend(nil, cs), cs
}

func TestAuditStops(t *testing.T) {
	// An error from fn stops the audit and is returned; fn is not called
	// again.
	b, _ := manyStacks(100)
	stop := errors.New("disk full")
	calls := 0
	err := b.Audit(context.Background(), AuditOptions{Jobs: 4}, func(StackAudit) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Errorf("Audit = %v after %d calls, want %v after 3", err, calls, stop)
	}

	// A context ended during the audit: no report after it, and its error.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls = 0
	err = b.Audit(ctx, AuditOptions{Jobs: 4}, func(StackAudit) error {
		calls++
		if calls == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 3 {
		t.Errorf("Audit = %v after %d calls, want context.Canceled after 3", err, calls)
	}
}

// The workers run a bounded distance ahead of a slow consumer: reports
// held at once do not grow with the number of stacks.
func TestAuditBoundsReadAhead(t *testing.T) {
	const jobs = 2
	b, cs := manyStacks(200)
	var order []string
	err := b.Audit(context.Background(), AuditOptions{Jobs: jobs}, func(a StackAudit) error {
		if len(order) == 0 {
			// Let the workers run as far as they can.
			for i := 0; i < 1000; i++ {
				runtime.Gosched()
			}
			time.Sleep(20 * time.Millisecond)
			// meta.yaml, the slots queued, one job held by each worker
			// and one the dispatcher is handing over.
			if got, limit := cs.Reads(), int64(1+4*jobs+jobs+1); got > limit {
				t.Errorf("%d reads while the first report is handled, want at most %d", got, limit)
			}
		}
		order = append(order, a.Stack.Ref.Name)
		return nil
	})
	if err != nil || len(order) != 200 || !slices.IsSorted(order) {
		t.Errorf("Audit = %v, %d reports, sorted %v", err, len(order), slices.IsSorted(order))
	}
}

// listings returns the listings rec was asked for, sorted.
func listings(rec storetest.Recorder) []string {
	var l []string
	for _, r := range rec.Requests() {
		if strings.HasPrefix(r, "LIST ") {
			l = append(l, r)
		}
	}
	return l
}

// An audit lists the stacks and the lock files once each (the stacks once
// per project, and once in the legacy location, when projects are named);
// with history, each stack's backups and history once each.
func TestAuditListings(t *testing.T) {
	_, s, want := auditBucket(t)
	tests := []struct {
		name string
		opts AuditOptions
		want []string
	}{
		{"whole backend", AuditOptions{}, []string{"LIST .pulumi/locks/", "LIST .pulumi/stacks/"}},
		{"two projects", AuditOptions{Projects: []string{"alpha", "beta"}},
			[]string{"LIST .pulumi/locks/", "LIST .pulumi/stacks/", "LIST .pulumi/stacks/alpha/", "LIST .pulumi/stacks/beta/"}},
	}
	for _, tt := range tests {
		rec := storetest.NewRecorder(s, 0)
		if _, err := auditAll(context.Background(), newBackend(nil, rec), tt.opts); err != nil {
			t.Fatal(err)
		}
		if got := listings(rec); !slices.Equal(got, tt.want) {
			t.Errorf("%s: listings %q, want %q", tt.name, got, tt.want)
		}
	}
	// Each stack whose checkpoint decodes has its backups and its history
	// listed; the others have no history read.
	rec := storetest.NewRecorder(s, 0)
	if _, err := auditAll(context.Background(), newBackend(nil, rec), AuditOptions{History: HistoryBounded}); err != nil {
		t.Fatal(err)
	}
	decoded := 0
	for _, w := range want {
		if w.err == "" {
			decoded++
		}
	}
	if got := listings(rec); len(got) != 2+2*decoded {
		t.Errorf("with history: %d listings for %d decoded stacks, want %d: %q", len(got), decoded, 2+2*decoded, got)
	}
}

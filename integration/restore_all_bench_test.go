package integration

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stacksync/stacksync/integration/harness"
)

// BenchmarkRestoreAllVsAudit times whole processes on one project of
// stacks behind a latency proxy (100 ms per request, a distant S3):
// restore --all --check, which reads every stack's checkpoint from one
// listing with the audit's concurrency, against audit of the same
// backend. It reports the median of each and their ratio, which stays near
// 1 when restore --all costs a listing and N/64 rounds of reads, not N
// round trips.
//
//	cd integration && go test -run '^$' -bench RestoreAllVsAudit -benchtime 3x .
func BenchmarkRestoreAllVsAudit(b *testing.B) {
	const stacks, delay = 500, 100 * time.Millisecond
	bin := harness.BuildStacksync(b)
	s := harness.StartS3(b)
	env := stacksyncEnv(b, s.Env()...)
	s.CreateBucket(b, "all")
	cp := auditFixture(b, "v3.274.1-init-cloud.json")
	objs := map[string][]byte{".pulumi/meta.yaml": []byte("version: 1\n")}
	for i := range stacks {
		objs[fmt.Sprintf(".pulumi/stacks/demo/s%04d.json", i)] = cp
	}
	auditUpload(b, s, "all", objs, 16)
	proxy := harness.StartLatencyProxy(b, s.Endpoint, delay)
	backend := harness.S3BackendURL(proxy.HostPort, harness.Region, "all", "")
	dir := harness.NewYAMLProject(b, "demo", "")
	run := func(args ...string) time.Duration {
		start := time.Now()
		_, e, code := runStacksync(b, bin, env, args...)
		if code != 0 && code != 3 { // --check finds every file missing: 3
			b.Fatalf("stacksync %v: exit %d\n%s", args, code, e)
		}
		return time.Since(start)
	}
	var restores, audits []time.Duration
	b.ResetTimer()
	for range b.N {
		restores = append(restores, run("restore", "--all", "--check", "-C", dir, "--backend", backend))
		audits = append(audits, run("audit", "--backend", backend, "-o", "json"))
	}
	b.StopTimer()
	median := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	r, a := median(restores), median(audits)
	b.ReportMetric(float64(r.Milliseconds()), "restore-all-ms")
	b.ReportMetric(float64(a.Milliseconds()), "audit-ms")
	b.ReportMetric(float64(r)/float64(a), "restore/audit")
	if files, _ := filepath.Glob(filepath.Join(dir, "Pulumi.*.yaml")); len(files) != 0 {
		b.Errorf("restore --check wrote %d settings files", len(files))
	}
}

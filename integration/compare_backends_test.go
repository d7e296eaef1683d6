//go:build linux

package integration

// The side-by-side rows of the DIY backends other than S3: on each test
// server, stacksync restore against pulumi stack export and stacksync
// audit against pulumi stack ls --all, straight and through a latency
// proxy, as the S3 rows do on versitygw.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stacksync/stacksync/integration/harness"
)

// compareBackendNames are the backends -compare.backends accepts, in the
// order they run and are reported.
var compareBackendNames = []string{"s3", "gs", "azblob", "postgres"}

// compareBackend is one DIY backend on its test server, reachable straight
// and through a latency proxy, for the side-by-side rows.
type compareBackend struct {
	name string // "gs", "azblob", "postgres"
	// server describes the server and how the latency is added, for the
	// report.
	server string
	// direct and proxied are the host:port of the server and of its
	// latency proxy.
	direct, proxied string
	// url is the backend URL of where (a bucket, container or table)
	// reached at hostPort.
	url func(where, hostPort string) string
	// env is what both stacksync and pulumi need to reach hostPort.
	env func(hostPort string) []string
	// lsEnv is added to pulumi stack ls --all's environment.
	lsEnv []string
	// create makes where exist (pulumi creates neither buckets nor
	// containers; it creates its postgres table itself).
	create func(t testing.TB, where string)
	// fill creates where and stores objects in it, keyed as under the
	// backend URL's root.
	fill func(t testing.TB, where string, objects map[string][]byte)
	// proxyUsed reports whether anything went through the latency proxy.
	proxyUsed func() bool
}

// hostPort is the address the rows at delay d reach.
func (b *compareBackend) hostPort(d time.Duration) string {
	if d == 0 {
		return b.direct
	}
	return b.proxied
}

// startCompareGS starts fake-gcs-server and a latency proxy that gives
// the server its own address as the Host (fake-gcs-server serves object
// downloads only to requests for its public host).
func startCompareGS(t testing.TB, delay time.Duration) *compareBackend {
	g := harness.StartGCS(t)
	proxy := harness.StartLatencyProxyToHost(t, g.Endpoint, delay)
	return &compareBackend{
		name:    "gs",
		server:  fmt.Sprintf("fake-gcs-server %s (in memory), the latency proxy set as `STORAGE_EMULATOR_HOST`", harness.FakeGCSVersion),
		direct:  g.HostPort,
		proxied: proxy.HostPort,
		url:     func(bucket, _ string) string { return g.BackendURL(bucket, "") },
		env: func(hp string) []string {
			return []string{"STORAGE_EMULATOR_HOST=" + hp, "GOOGLE_OAUTH_ACCESS_TOKEN=" + harness.GCSAccessToken}
		},
		create: func(t testing.TB, bucket string) { g.CreateBucket(t, bucket) },
		fill: func(t testing.TB, bucket string, objects map[string][]byte) {
			g.CreateBucket(t, bucket)
			for _, k := range sortedKeys(objects) {
				g.PutObject(t, bucket, k, objects[k])
			}
		},
		proxyUsed: func() bool { return proxy.Requests() > 0 },
	}
}

// startCompareAzurite starts Azurite and a latency proxy, given to both
// tools as the URL's ?domain=.
func startCompareAzurite(t testing.TB, delay time.Duration) *compareBackend {
	a := harness.StartAzurite(t)
	proxy := harness.StartLatencyProxy(t, "http://"+a.HostPort, delay)
	return &compareBackend{
		name:    "azblob",
		server:  fmt.Sprintf("Azurite %s, the latency proxy given as `?domain=`", harness.AzuriteVersion),
		direct:  a.HostPort,
		proxied: proxy.HostPort,
		url: func(container, hp string) string {
			return a.BareURL(container, "") + "?domain=" + hp + "&protocol=http"
		},
		env:    func(string) []string { return a.Env() },
		create: func(t testing.TB, container string) { a.CreateContainer(t, container) },
		fill: func(t testing.TB, container string, objects map[string][]byte) {
			a.CreateContainer(t, container)
			for _, k := range sortedKeys(objects) {
				a.PutObject(t, container, k, objects[k])
			}
		},
		proxyUsed: func() bool { return proxy.Requests() > 0 },
	}
}

// startComparePostgres starts PostgreSQL and a TCP latency proxy (the
// protocol is not HTTP): each table is a backend, in the harness's
// database, so pulumi's keys start with "<database>/".
func startComparePostgres(t testing.TB, delay time.Duration) *compareBackend {
	pg := harness.StartPostgres(t)
	proxy := harness.StartTCPLatencyProxy(t, pg.HostPort, delay)
	version := "PostgreSQL"
	if out, err := exec.Command(filepath.Join(pg.BinDir, "postgres"), "--version").Output(); err == nil {
		// "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
		if f := strings.Fields(string(out)); len(f) > 2 {
			version += " " + f[2]
		}
	}
	db := pg.Database
	return &compareBackend{
		name: "postgres",
		server: version + ", the latency proxy a TCP proxy that holds what the client sends for the delay " +
			"(once per round trip of the protocol, not per request). `pulumi stack ls --all` runs with " +
			"`GOMAXPROCS=8`: pulumi " + harness.PulumiVersion + " opens at most 2 × GOMAXPROCS connections and, " +
			"listing the projects at once, holds one per listing while it waits for another to read each " +
			"object's size, so on 2 cores it waits forever on these 10 projects",
		lsEnv:   []string{"GOMAXPROCS=8"},
		direct:  pg.HostPort,
		proxied: proxy.HostPort,
		url: func(table, hp string) string {
			return "postgres://" + harness.PostgresUser + "@" + hp + "/" + db + "?sslmode=disable&table=" + table
		},
		env:    func(string) []string { return nil },
		create: func(testing.TB, string) {},
		fill: func(t testing.TB, table string, objects map[string][]byte) {
			rows := make(map[string][]byte, len(objects))
			for k, v := range objects {
				rows[db+"/"+k] = v
			}
			pg.PutObjects(t, db, table, rows)
		},
		proxyUsed: func() bool { return proxy.Chunks() > 0 },
	}
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// compareOtherBackends runs the restore and audit rows of every backend
// of rep.Backends other than s3, one server at a time.
func compareOtherBackends(t *testing.T, rep *compareReport, bin string, k *harness.KMS) {
	starts := map[string]func(testing.TB, time.Duration) *compareBackend{
		"gs": startCompareGS, "azblob": startCompareAzurite, "postgres": startComparePostgres,
	}
	for _, name := range rep.Backends {
		start := starts[name]
		if start == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			b := start(t, rep.Delay)
			rep.addServer(b.name, b.server)
			sd := seedBackend(t, k, b)
			for _, d := range []time.Duration{0, rep.Delay} {
				compareBackendRestore(t, rep, b, sd, bin, d)
			}
			where := fmt.Sprintf("compare%d", rep.BackendStacks)
			start := time.Now()
			b.fill(t, where, auditObjects(t, rep.BackendStacks))
			t.Logf("stored %d stacks in %s %s in %v", rep.BackendStacks, b.name, where, time.Since(start).Round(time.Millisecond))
			for _, d := range []time.Duration{0, rep.Delay} {
				compareBackendAudit(t, rep, b, bin, d, where)
			}
			if !b.proxyUsed() {
				t.Errorf("nothing went through the %s latency proxy", b.name)
			}
		})
	}
}

// seedBackend is seedS3 on b: the real pulumi creates an awskms stack with
// a secret in b's "state", then the settings file is lost and pulumi
// regenerates it with config set.
func seedBackend(t testing.TB, k *harness.KMS, b *compareBackend) *seeded {
	t.Helper()
	b.create(t, "state")
	sd := &seeded{k: k, p: harness.NewPulumi(t, harness.PulumiVersion)}
	sd.p.UseKMS(k)
	for _, kv := range b.env(b.direct) {
		name, v, _ := strings.Cut(kv, "=")
		sd.p.Setenv(name, v)
	}
	sd.dir = harness.NewYAMLProject(t, "demo", "")
	sd.path = filepath.Join(sd.dir, "Pulumi."+seedStack+".yaml")
	providerURL := sd.p.SecretsProviderURL(k)
	sd.p.MustRun(sd.dir, nil, "login", b.url("state", b.direct))
	sd.p.MustRun(sd.dir, nil, "stack", "init", seedStack, "--secrets-provider="+providerURL)
	sd.p.MustRun(sd.dir, nil, "config", "set", "--secret", "apikey", "s3cr3t")
	sd.good = readFile(t, sd.path)
	if gp := settingsProvider(sd.good); gp.Type != "cloud" || gp.URL != providerURL || gp.EncryptedKey == "" {
		t.Fatalf("settings file after init on %s: %+v\n%s", b.name, gp, sd.good)
	}
	if err := os.Remove(sd.path); err != nil {
		t.Fatal(err)
	}
	sd.p.MustRun(sd.dir, nil, "stack", "select", seedStack)
	sd.p.MustRun(sd.dir, nil, "config", "set", "test:value", "hello")
	sd.before = readFile(t, sd.path)
	if string(sd.before) != "config:\n  test:value: hello\n" {
		t.Fatalf("regenerated settings file on %s is not config-only:\n%s", b.name, sd.before)
	}
	return sd
}

// compareBackendRestore times one stack's restore by stacksync against
// pulumi stack export on b at delay d.
func compareBackendRestore(t *testing.T, rep *compareReport, b *compareBackend, sd *seeded, bin string, d time.Duration) {
	t.Helper()
	hp := b.hostPort(d)
	backend := b.url("state", hp)
	gp := settingsProvider(sd.good)
	reset := func() error { return os.WriteFile(sd.path, sd.before, 0o644) }
	wantRestored := "secretsprovider: " + gp.URL + "\nencryptedkey: " + gp.EncryptedKey + "\n" + string(sd.before)
	ssEnv := stacksyncEnv(t, b.env(hp)...)
	pEnv := append(mergeEnvList(append(sd.p.Env(), b.env(hp)...)), "PULUMI_BACKEND_URL="+backend)
	cases := []compareCase{{
		name:    rowRestore,
		prepare: reset,
		cmd: func() *exec.Cmd {
			return command(sd.dir, ssEnv, bin, "restore", "-C", sd.dir, "--backend", backend, seedStack)
		},
		check: func(_, _ string) error {
			if got, err := os.ReadFile(sd.path); err != nil || string(got) != wantRestored {
				return fmt.Errorf("settings file after restore (%v):\n%s", err, got)
			}
			return nil
		},
	}, {
		name:  rowExport,
		cmd:   func() *exec.Cmd { return command(sd.dir, pEnv, sd.p.Bin, "stack", "export", "--stack", seedStack) },
		check: checkExport(gp),
	}}
	runCases(t, rep, "restore "+b.name, 0, d, rep.Runs, cases, true)
	if err := reset(); err != nil {
		t.Fatal(err)
	}
}

// compareBackendAudit times an audit of where (rep.BackendStacks stacks)
// by stacksync at its default -j against pulumi stack ls --all on b at
// delay d.
func compareBackendAudit(t *testing.T, rep *compareReport, b *compareBackend, bin string, d time.Duration, where string) {
	t.Helper()
	n := rep.BackendStacks
	hp := b.hostPort(d)
	backend := b.url(where, hp)
	p := harness.NewPulumi(t, harness.PulumiVersion)
	pEnv := append(mergeEnvList(append(append(p.Env(), b.env(hp)...), b.lsEnv...)), "PULUMI_BACKEND_URL="+backend)
	ssEnv := stacksyncEnv(t, b.env(hp)...)
	work := t.TempDir() // no Pulumi.yaml: stack ls --all lists every project
	cases := []compareCase{{
		name: rowAudit,
		cmd: func() *exec.Cmd {
			return command(work, ssEnv, bin, "audit", "--backend", backend, "-o", "json")
		},
		check: func(stdout, _ string) error {
			var out struct {
				Summary struct{ Stacks, Errors int } `json:"summary"`
			}
			if err := json.Unmarshal([]byte(stdout), &out); err != nil {
				return fmt.Errorf("audit -o json: %w", err)
			}
			if out.Summary.Stacks != n || out.Summary.Errors != 0 {
				return fmt.Errorf("audit: %d stacks, %d errors; want %d, 0", out.Summary.Stacks, out.Summary.Errors, n)
			}
			return nil
		},
	}, {
		name: rowStackLs,
		cmd:  func() *exec.Cmd { return command(work, pEnv, p.Bin, "stack", "ls", "--all", "--json") },
		check: func(stdout, _ string) error {
			var ls []struct {
				Name string `json:"name"`
			}
			if err := json.Unmarshal([]byte(stdout), &ls); err != nil {
				return fmt.Errorf("stack ls --json: %w", err)
			}
			if len(ls) != n {
				return fmt.Errorf("stack ls --all listed %d stacks, want %d", len(ls), n)
			}
			return nil
		},
	}}
	runCases(t, rep, "audit "+b.name, n, d, rep.AuditRuns, cases, false)
}

// auditObjects is the content of a backend of n stacks for the audit rows,
// as uploadAuditBucket stores it in S3: the real-pulumi v3.274.1
// checkpoints round robin (plain, gzip, zstd) over 10 projects.
func auditObjects(t testing.TB, n int) map[string][]byte {
	t.Helper()
	names := []string{"v3.274.1-init-cloud.json", "v3.274.1-init-passphrase.json", "v3.274.1-deployed.json",
		"v3.274.1-gzip.json.gz", "v3.274.1-zstd.json.zst"}
	exts := []string{".json", ".json", ".json", ".json.gz", ".json.zst"}
	var fixtures [][]byte
	for _, f := range names {
		fixtures = append(fixtures, auditFixture(t, f))
	}
	objs := map[string][]byte{".pulumi/meta.yaml": []byte("version: 1\n")}
	for i := range n {
		f := i % len(fixtures)
		objs[fmt.Sprintf(".pulumi/stacks/proj-%02d/stack-%05d%s", i%10, i, exts[f])] = fixtures[f]
	}
	return objs
}

// backendsMarkdown is the section of the report on the other backends.
func (rep *compareReport) backendsMarkdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	var names []string
	for _, n := range rep.Backends {
		if n != "s3" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return ""
	}
	lat := fmtLatency
	w("### The other backends\n\n")
	w("The same two comparisons on each of the other DIY backends pulumi has, each against the real pulumi on the\n")
	w("same server in the same run: restore one stack (as above) against `pulumi stack export`, and audit %s stacks\n", fmtInt(rep.BackendStacks))
	w("(the same checkpoints as above, stored with the harness's upload helpers) at the default -j against\n")
	w("`pulumi stack ls --all --json`. The servers, on 127.0.0.1:\n\n")
	for _, n := range names {
		if s, ok := rep.servers[n]; ok {
			w("- %s: %s.\n", n, s)
		}
	}
	w("\n| Backend | Work | Stacks | Latency | Median | Min / max | Peak RSS | stacksync is |\n|---|---|---|---|---|---|---|---|\n")
	for _, name := range names {
		for _, kind := range []struct {
			work, base, other string
			n                 int
		}{{"restore", rowRestore, rowExport, 0}, {"audit", rowAudit, rowStackLs, rep.BackendStacks}} {
			for _, d := range []time.Duration{0, rep.Delay} {
				base := rep.find(kind.work+" "+name, kind.base, kind.n, d)
				other := rep.find(kind.work+" "+name, kind.other, kind.n, d)
				stacks := "1"
				if kind.n > 0 {
					stacks = fmtInt(kind.n)
				}
				for _, r := range []*compareResult{base, other} {
					if r == nil || len(r.Walls) == 0 {
						continue
					}
					vs := "—"
					if r == other && base != nil && base.Median() > 0 {
						vs = fmtRatio(r.Median(), base.Median()) + " faster"
					}
					w("| %s | %s | %s | %s | %s | %s / %s | %s | %s |\n", name, r.Name, stacks, lat(d), fmtDur(r.Median()), fmtDur(r.Min()), fmtDur(r.Max()), fmtRSS(r.PeakRSS()), vs)
				}
			}
		}
	}
	w("\n")
	return b.String()
}

// addServer records the description of a backend's server for the report.
func (rep *compareReport) addServer(name, desc string) {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	if rep.servers == nil {
		rep.servers = map[string]string{}
	}
	rep.servers[name] = desc
}

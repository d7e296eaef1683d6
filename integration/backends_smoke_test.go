package integration

// Smoke tests of the servers that stand in for the gs://, azblob:// and
// postgres:// DIY backends: the real pulumi logs in to each, creates a
// passphrase stack, deploys a YAML program, and the DIY layout then
// appears where the backend URL says, read back through the server's own
// API (not through pulumi). The harness's writes are proven too: a copy of
// the state made with them is one pulumi reads.

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stacksync/stacksync/integration/harness"
)

// smokeProject is the project every smoke test deploys.
const smokeProject = "smoke"

// smokePassphrase is the passphrase of the smoke tests' stacks.
const smokePassphrase = "PULUMI_CONFIG_PASSPHRASE=smoke test passphrase"

// smokeForm is one way of pointing pulumi at a backend (its URL and the
// environment pulumi needs for it) and the harness's access to the same
// objects.
type smokeForm struct {
	url string
	env []string
	// prefix is the key prefix pulumi must use for url: "" or ending in "/".
	prefix string
	// keys lists the keys under a prefix, sorted.
	keys func(t *testing.T, prefix string) []string
	// get returns the object under key.
	get func(t *testing.T, key string) []byte
	// copyTo, when set, is where the harness copies the deployed state
	// (its .pulumi/ objects, written with the harness's own put) for
	// pulumi to read back.
	copyTo *smokeCopy
}

// smokeCopy is a second location on the same server: its backend URL, key
// prefix, and the harness's write to it.
type smokeCopy struct {
	url    string
	prefix string
	put    func(t *testing.T, objects map[string][]byte)
}

// newSmokePulumi is a pulumi runner with env added to its environment.
func newSmokePulumi(t *testing.T, env []string) *harness.Pulumi {
	t.Helper()
	p := harness.NewPulumi(t, harness.PulumiVersion)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		p.Setenv(k, v)
	}
	return p
}

// deployAndCheck runs pulumi login, stack init (passphrase), config set
// --secret, up and stack output against f, then checks the DIY layout
// under f.prefix: .pulumi/meta.yaml says version 1, the stack's
// checkpoint is at .pulumi/stacks/<project>/dev.json and records the
// passphrase provider and the output, history and backups exist, and no
// key is outside the prefix. With f.copyTo it then copies the state there
// and checks that pulumi reads the copy.
func deployAndCheck(t *testing.T, f smokeForm) {
	t.Helper()
	p := newSmokePulumi(t, f.env)
	dir := harness.NewYAMLProject(t, smokeProject, "outputs:\n  greeting: hello\n")
	pass := []string{smokePassphrase}
	start := time.Now()
	p.MustRun(dir, nil, "login", f.url)
	p.MustRun(dir, pass, "stack", "init", "dev", "--secrets-provider", "passphrase")
	p.MustRun(dir, pass, "config", "set", "--secret", scenarioSecretKey, scenarioSecretValue)
	p.MustRun(dir, pass, "up", "--yes", "--non-interactive", "--skip-preview")
	if out := strings.TrimSpace(p.MustRun(dir, pass, "stack", "output", "greeting")); out != "hello" {
		t.Errorf("%s: pulumi stack output greeting = %q, want hello", f.url, out)
	}
	t.Logf("%s: login, stack init, config set, up, stack output in %s", f.url, time.Since(start).Round(time.Millisecond))

	keys := f.keys(t, f.prefix)
	meta := f.prefix + ".pulumi/meta.yaml"
	stack := f.prefix + ".pulumi/stacks/" + smokeProject + "/dev.json"
	for _, want := range []string{meta, stack} {
		if !slices.Contains(keys, want) {
			t.Fatalf("%s: no %s after pulumi up; keys under %q:\n%s", f.url, want, f.prefix, strings.Join(keys, "\n"))
		}
	}
	if got := string(f.get(t, meta)); got != "version: 1\n" {
		t.Errorf("%s: %s = %q, want %q", f.url, meta, got, "version: 1\n")
	}
	checkpoint := f.get(t, stack)
	for _, want := range []string{`"secrets_providers":{"type":"passphrase"`, `"greeting":"hello"`} {
		if !bytes.Contains(checkpoint, []byte(want)) {
			t.Errorf("%s: %s does not contain %s:\n%s", f.url, stack, want, checkpoint)
		}
	}
	for _, sub := range []string{"history", "backups"} {
		d := f.prefix + ".pulumi/" + sub + "/" + smokeProject + "/dev/"
		if !slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, d) }) {
			t.Errorf("%s: nothing under %s; keys:\n%s", f.url, d, strings.Join(keys, "\n"))
		}
	}
	var outside []string
	for _, k := range f.keys(t, "") {
		if !strings.HasPrefix(k, f.prefix) {
			outside = append(outside, k)
		}
	}
	if len(outside) > 0 {
		t.Errorf("%s: pulumi wrote outside the key prefix %q: %q", f.url, f.prefix, outside)
	}

	if c := f.copyTo; c != nil {
		objects := map[string][]byte{}
		for _, k := range keys {
			objects[c.prefix+strings.TrimPrefix(k, f.prefix)] = f.get(t, k)
		}
		c.put(t, objects)
		p.MustRun(dir, nil, "login", c.url)
		if out := strings.TrimSpace(p.MustRun(dir, pass, "stack", "output", "greeting", "-s", "dev")); out != "hello" {
			t.Errorf("%s: pulumi stack output greeting of the copy = %q, want hello", c.url, out)
		}
	}
}

// loginFails runs pulumi login url with env and checks that it fails and
// says want: the server refuses what the real service would refuse.
func loginFails(t *testing.T, url string, env []string, want string) {
	t.Helper()
	p := newSmokePulumi(t, env)
	dir := harness.NewYAMLProject(t, smokeProject, "")
	o, e, err := p.Run(dir, nil, "login", url)
	if err == nil || !strings.Contains(o+e, want) {
		t.Errorf("pulumi login %s: err=%v, want a failure saying %q; output:\n%s%s", url, err, want, o, e)
	}
}

// startTimed runs start and logs how long it took.
func startTimed[T any](t *testing.T, name string, start func(testing.TB) T) T {
	t.Helper()
	begin := time.Now()
	s := start(t)
	t.Logf("%s ready in %s", name, time.Since(begin).Round(time.Millisecond))
	return s
}

// TestPulumiOnGCS: pulumi keeps its state in fake-gcs-server through gs://,
// at the bucket's root and under a key prefix; a missing bucket is refused.
func TestPulumiOnGCS(t *testing.T) {
	t.Parallel()
	g := startTimed(t, "fake-gcs-server", harness.StartGCS)
	put := func(bucket string) func(*testing.T, map[string][]byte) {
		return func(t *testing.T, objects map[string][]byte) {
			for k, v := range objects {
				g.PutObject(t, bucket, k, v)
			}
		}
	}
	forms := []struct {
		name, bucket, prefix string
		copyTo               *smokeCopy
	}{
		{"root", "state", "", &smokeCopy{g.BackendURL("state", "seeded"), "seeded/", put("state")}},
		{"prefix", "prefixed", "team/a/", nil},
	}
	for _, f := range forms {
		g.CreateBucket(t, f.bucket)
		t.Run(f.name, func(t *testing.T) {
			deployAndCheck(t, smokeForm{
				url:    g.BackendURL(f.bucket, f.prefix),
				env:    g.Env(),
				prefix: f.prefix,
				keys:   func(t *testing.T, p string) []string { return g.ListKeys(t, f.bucket, p) },
				get:    func(t *testing.T, k string) []byte { return g.GetObject(t, f.bucket, k) },
				copyTo: f.copyTo,
			})
		})
	}
	t.Run("refusals", func(t *testing.T) {
		loginFails(t, g.BackendURL("nosuch", ""), g.Env(), "bucket doesn't exist")
		// pulumi with no Google credential at all is not tried: its
		// credential chain would end at the metadata server, which the
		// harness points at a closed local port (an address off this
		// machine otherwise), and which then counts as found.
	})
}

// TestPulumiOnAzurite: pulumi keeps its state in Azurite through azblob://,
// with the server in the URL (at the root and under a key prefix), in the
// environment only, and in a connection string; a wrong account key and a
// missing container are refused.
func TestPulumiOnAzurite(t *testing.T) {
	t.Parallel()
	a := startTimed(t, "azurite-blob", harness.StartAzurite)
	put := func(container string) func(*testing.T, map[string][]byte) {
		return func(t *testing.T, objects map[string][]byte) {
			for k, v := range objects {
				a.PutObject(t, container, k, v)
			}
		}
	}
	forms := []struct {
		name, container, prefix, url string
		env                          []string
		copyTo                       *smokeCopy
	}{
		{"url", "state", "", a.BackendURL("state", ""), a.Env(),
			&smokeCopy{a.BackendURL("state", "seeded"), "seeded/", put("state")}},
		{"url prefix", "prefixed", "team/a/", a.BackendURL("prefixed", "team/a"), a.Env(), nil},
		{"env only", "envonly", "", a.BareURL("envonly", ""), a.EnvOnly(), nil},
		{"connection string prefix", "connstr", "ci/", a.BareURL("connstr", "ci"), a.ConnectionStringEnv(), nil},
	}
	for _, f := range forms {
		a.CreateContainer(t, f.container)
		t.Run(f.name, func(t *testing.T) {
			deployAndCheck(t, smokeForm{
				url:    f.url,
				env:    f.env,
				prefix: f.prefix,
				keys:   func(t *testing.T, p string) []string { return a.ListKeys(t, f.container, p) },
				get:    func(t *testing.T, k string) []byte { return a.GetObject(t, f.container, k) },
				copyTo: f.copyTo,
			})
		})
	}
	t.Run("refusals", func(t *testing.T) {
		wrongKey := []string{"AZURE_STORAGE_ACCOUNT=" + a.Account, "AZURE_STORAGE_KEY=" + strings.Repeat("A", 86) + "=="}
		loginFails(t, a.BackendURL("state", ""), wrongKey, "AuthorizationFailure")
		loginFails(t, a.BackendURL("nosuch", ""), a.Env(), "ContainerNotFound")
	})
}

// TestPulumiOnPostgres: pulumi keeps its state in PostgreSQL through
// postgres://, in pulumi_state with the database name as key prefix, in a
// table named by ?table=, and with the connection in PG* variables only
// (postgres:///: no database in the path, so no key prefix); a server
// without TLS needs sslmode=disable, and a missing database is refused.
//
// pulumi v3.274.1 cannot open the bare "postgres://" its own README shows:
// the URL loses its "//" on the way to lib/pq, which then reads "postgres:"
// as a key=value connection string and fails.
func TestPulumiOnPostgres(t *testing.T) {
	t.Parallel()
	pg := startTimed(t, "postgres", harness.StartPostgres)
	db := pg.Database
	seeded := &smokeCopy{pg.BackendURL(db, "seeded_state"), db + "/", func(t *testing.T, objects map[string][]byte) {
		pg.PutObjects(t, db, "seeded_state", objects)
	}}
	forms := []struct {
		name, table, prefix, url string
		env                      []string
		copyTo                   *smokeCopy
	}{
		{"url", harness.PostgresTable, db + "/", pg.BackendURL(db, ""), nil, seeded},
		{"url table", "team_state", db + "/", pg.BackendURL(db, "team_state"), nil, nil},
		{"env only", "env_state", "", "postgres:///?table=env_state", pg.EnvOnly(db), nil},
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			deployAndCheck(t, smokeForm{
				url:    f.url,
				env:    f.env,
				prefix: f.prefix,
				keys:   func(t *testing.T, p string) []string { return pg.ListKeys(t, db, f.table, p) },
				get:    func(t *testing.T, k string) []byte { return pg.GetObject(t, db, f.table, k) },
				copyTo: f.copyTo,
			})
		})
	}
	t.Run("refusals", func(t *testing.T) {
		loginFails(t, strings.TrimSuffix(pg.BackendURL(db, ""), "?sslmode=disable"), nil, "SSL is not enabled on the server")
		loginFails(t, pg.BackendURL("nosuch", ""), nil, `database "nosuch" does not exist`)
	})
	for _, r := range pg.Rows(t, db, harness.PostgresTable) {
		if !strings.HasPrefix(r.JSON, `{"data":"`) || r.UpdatedAt.IsZero() {
			t.Errorf("row %q: data %.40q, updated_at %v: want {\"data\": \"<base64>\"} and a time", r.Key, r.JSON, r.UpdatedAt)
		}
	}
}

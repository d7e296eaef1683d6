package harness

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PostgresUser is the superuser of every cluster the harness starts; it
// logs in from 127.0.0.1 with no password (trust).
const PostgresUser = "postgres"

// PostgresDatabase is the database StartPostgres creates.
const PostgresDatabase = "stacksync"

// PostgresTable is the table pulumi keeps its objects in unless the
// backend URL says ?table=.
const PostgresTable = "pulumi_state"

// Postgres is a running PostgreSQL server on 127.0.0.1 with a throwaway
// cluster, reachable over TCP only.
type Postgres struct {
	HostPort string // "127.0.0.1:<port>"
	Port     int
	User     string // PostgresUser
	Database string // PostgresDatabase
	DataDir  string // the cluster's data directory
	BinDir   string // where initdb, postgres and psql are
}

// StartPostgres initialises a cluster (initdb, trust authentication, no
// fsync) in a fresh temporary directory, serves it with postgres on a free
// 127.0.0.1 port and no Unix socket, creates the database PostgresDatabase,
// and registers a cleanup that shuts the server down and removes the
// cluster.
//
// PostgreSQL refuses to run as root, so when the tests run as root (as in
// CI) initdb and postgres run as the system user "postgres" that Debian's
// postgresql package creates. postgres is started directly rather than
// through pg_ctl, so that it stays a child of the test binary and dies
// with it.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	binDir := PostgresBinDir(t)
	runAs := postgresRunAs(t)

	base, err := os.MkdirTemp("", "stacksync-pg-")
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	if runAs != nil {
		if err := os.Chown(base, int(runAs.Uid), int(runAs.Gid)); err != nil {
			t.Fatalf("harness: handing %s to the postgres user: %v", base, err)
		}
	}
	data := filepath.Join(base, "data")
	initdb := exec.Command(filepath.Join(binDir, "initdb"),
		"-D", data, "-U", PostgresUser, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.Env = postgresEnv(base)
	setCredential(initdb, runAs)
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("harness: initdb: %v\n%s", err, out)
	}

	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(t)
		cmd := exec.Command(filepath.Join(binDir, "postgres"),
			"-D", data,
			"-p", strconv.Itoa(port),
			"-c", "listen_addresses=127.0.0.1",
			"-c", "unix_socket_directories=",
			"-c", "fsync=off",
			"-c", "synchronous_commit=off",
			"-c", "full_page_writes=off")
		cmd.Env = postgresEnv(base)
		setCredential(cmd, runAs)
		proc := startProcess(t, "postgres", cmd)
		t.Cleanup(func() { proc.interrupt(10 * time.Second) })
		p := &Postgres{
			HostPort: hostPort(port),
			Port:     port,
			User:     PostgresUser,
			Database: PostgresDatabase,
			DataDir:  data,
			BinDir:   binDir,
		}
		lastErr = proc.waitFor("postgres", 60*time.Second, func() error {
			_, err := p.psql("postgres", nil, "-c", "SELECT 1")
			return err
		})
		if lastErr == nil {
			p.CreateDatabase(t, PostgresDatabase)
			return p
		}
		proc.interrupt(0) // e.g. the port was taken meanwhile; retry
	}
	t.Fatalf("harness: starting postgres: %v", lastErr)
	return nil
}

// postgresEnv is the whole environment of initdb and postgres.
func postgresEnv(home string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LC_ALL=C", "TZ=UTC"}
}

// PostgresBinDir is the directory holding initdb, postgres and psql: that
// of initdb on PATH, else the newest /usr/lib/postgresql/<major>/bin (where
// Debian's packages put them, off PATH). It fails the test if neither has
// initdb.
func PostgresBinDir(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Dir(real)
		}
		return filepath.Dir(p)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return a > b
	})
	for _, d := range dirs {
		if fi, err := os.Stat(filepath.Join(d, "initdb")); err == nil && fi.Mode()&0o111 != 0 {
			return d
		}
	}
	t.Fatalf("harness: PostgreSQL's initdb is neither on PATH nor in /usr/lib/postgresql/*/bin; %s", installHint)
	return ""
}

// postgresRunAs is the user initdb and postgres run as: nil (this process's
// own) unless this process is root, then the system user "postgres".
func postgresRunAs(t testing.TB) *osUser {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("harness: running as root, and PostgreSQL refuses root: no \"postgres\" user to run it as (%v); %s", err, installHint)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		t.Fatalf("harness: user postgres has uid %q and gid %q", u.Uid, u.Gid)
	}
	return &osUser{Uid: uint32(uid), Gid: uint32(gid)}
}

// osUser is a numeric user and group to run a child process as.
type osUser struct{ Uid, Gid uint32 }

// BackendURL is the pulumi DIY backend URL of database:
//
//	postgres://postgres@127.0.0.1:<port>/<database>?sslmode=disable[&table=<table>]
//
// table "" leaves pulumi's default, PostgresTable. pulumi's keys in it start
// with "<database>/" (the URL path is a key prefix, as on every DIY backend).
func (p *Postgres) BackendURL(database, table string) string {
	u := "postgres://" + p.User + "@" + p.HostPort + "/" + database + "?sslmode=disable"
	if table != "" {
		u += "&table=" + table
	}
	return u
}

// EnvOnly returns the PG* variables that, with the backend URL
// "postgres:///" (three slashes: pulumi v3.274.1 fails on a bare
// "postgres://"), reach database. With no database in the URL's path,
// pulumi's keys get no "<database>/" prefix.
func (p *Postgres) EnvOnly(database string) []string {
	return []string{
		"PGHOST=127.0.0.1",
		"PGPORT=" + strconv.Itoa(p.Port),
		"PGUSER=" + p.User,
		"PGDATABASE=" + database,
		"PGSSLMODE=disable",
	}
}

// psql runs psql against database as PostgresUser over TCP with args
// (after -X -q -v ON_ERROR_STOP=1) and stdin, and returns its stdout.
func (p *Postgres) psql(database string, stdin []byte, args ...string) ([]byte, error) {
	full := append([]string{"-X", "-q", "-v", "ON_ERROR_STOP=1",
		"-h", "127.0.0.1", "-p", strconv.Itoa(p.Port), "-U", p.User, "-d", database}, args...)
	cmd := exec.Command(filepath.Join(p.BinDir, "psql"), full...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PGCONNECT_TIMEOUT=5", "PGTZ=UTC", "LC_ALL=C"}
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("psql %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(errOut.Bytes()))
	}
	return out.Bytes(), nil
}

// sqlIdent is what the harness accepts as a database or table name; pulumi
// pastes the table name into its SQL as is.
var sqlIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

func mustIdent(t testing.TB, what, name string) {
	t.Helper()
	if !sqlIdent.MatchString(name) {
		t.Fatalf("harness: %s %q is not a plain SQL identifier", what, name)
	}
}

// CreateDatabase creates database name.
func (p *Postgres) CreateDatabase(t testing.TB, name string) {
	t.Helper()
	mustIdent(t, "database", name)
	if _, err := p.psql("postgres", nil, "-c", "CREATE DATABASE "+name); err != nil {
		t.Fatalf("harness: %v", err)
	}
}

// PostgresRow is one row of pulumi's state table.
type PostgresRow struct {
	Key       string
	JSON      string // the data column as stored: {"data": "<base64>"}
	Data      []byte // the object's bytes, decoded from JSON
	UpdatedAt time.Time
}

// Rows returns every row of table in database, ordered by key. A missing
// table fails the test.
func (p *Postgres) Rows(t testing.TB, database, table string) []PostgresRow {
	t.Helper()
	mustIdent(t, "table", table)
	out, err := p.psql(database, nil, "-c",
		"COPY (SELECT key, data::text, updated_at FROM "+table+" ORDER BY key) TO STDOUT WITH (FORMAT csv)")
	if err != nil {
		t.Fatalf("harness: reading %s.%s: %v", database, table, err)
	}
	records, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("harness: reading %s.%s: %v", database, table, err)
	}
	rows := make([]PostgresRow, 0, len(records))
	for _, r := range records {
		var wrapped struct {
			Data string `json:"data"`
		}
		if err := json.Unmarshal([]byte(r[1]), &wrapped); err != nil {
			t.Fatalf("harness: %s.%s row %q: data is not {\"data\": ...}: %v", database, table, r[0], err)
		}
		data, err := base64.StdEncoding.DecodeString(wrapped.Data)
		if err != nil {
			t.Fatalf("harness: %s.%s row %q: data is not base64: %v", database, table, r[0], err)
		}
		at, err := time.Parse("2006-01-02 15:04:05.999999-07", r[2])
		if err != nil {
			t.Fatalf("harness: %s.%s row %q: updated_at %q: %v", database, table, r[0], r[2], err)
		}
		rows = append(rows, PostgresRow{Key: r[0], JSON: r[1], Data: data, UpdatedAt: at})
	}
	return rows
}

// ListKeys returns the keys in table that start with prefix (literally:
// "_" and "%" are not wildcards here), sorted.
func (p *Postgres) ListKeys(t testing.TB, database, table, prefix string) []string {
	t.Helper()
	var keys []string
	for _, r := range p.Rows(t, database, table) {
		if strings.HasPrefix(r.Key, prefix) {
			keys = append(keys, r.Key)
		}
	}
	return keys
}

// GetObject returns the decoded data of key, failing the test if it is
// missing.
func (p *Postgres) GetObject(t testing.TB, database, table, key string) []byte {
	t.Helper()
	for _, r := range p.Rows(t, database, table) {
		if r.Key == key {
			return r.Data
		}
	}
	t.Fatalf("harness: no row %q in %s.%s", key, database, table)
	return nil
}

// PutObjects stores objects (key to bytes) in table as pulumi writes them
// (data = {"data": "<base64>"}, updated_at = now(), replacing a row with
// the same key), creating the table with pulumi's schema if it is missing.
// All rows go in one transaction.
func (p *Postgres) PutObjects(t testing.TB, database, table string, objects map[string][]byte) {
	t.Helper()
	mustIdent(t, "table", table)
	keys := make([]string, 0, len(objects))
	for k := range objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var script bytes.Buffer
	index := strings.ReplaceAll(table, ".", "_") + "_key_prefix_idx"
	fmt.Fprintf(&script, `BEGIN;
CREATE TABLE IF NOT EXISTS %[1]s (
    key TEXT PRIMARY KEY,
    data JSON NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS %[2]s ON %[1]s (key text_pattern_ops);
CREATE TEMP TABLE stacksync_seed (key TEXT, data JSON) ON COMMIT DROP;
COPY stacksync_seed (key, data) FROM STDIN WITH (FORMAT csv);
`, table, index)
	for _, k := range keys {
		data, _ := json.Marshal(map[string]string{"data": base64.StdEncoding.EncodeToString(objects[k])})
		script.WriteString(csvQuote(k) + "," + csvQuote(string(data)) + "\n")
	}
	fmt.Fprintf(&script, `\.
INSERT INTO %s (key, data) SELECT key, data FROM stacksync_seed
    ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, updated_at = now();
COMMIT;
`, table)
	if _, err := p.psql(database, script.Bytes(), "-f", "-"); err != nil {
		t.Fatalf("harness: writing %d rows to %s.%s: %v", len(objects), database, table, err)
	}
}

// PutObject is PutObjects with one object.
func (p *Postgres) PutObject(t testing.TB, database, table, key string, body []byte) {
	t.Helper()
	p.PutObjects(t, database, table, map[string][]byte{key: body})
}

// csvQuote quotes s as one CSV field, always, so that no field can be
// read as COPY's end-of-data marker.
func csvQuote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

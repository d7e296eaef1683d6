//go:build unix

package integration

// The bad-input catalogue's postgres:// rows: credentials, a missing table
// and database, SSL refused and a hung server, none of which may print a
// password.

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stacksync/stacksync/integration/harness"
)

// The password of role app on the catalogue's PostgreSQL, and a wrong one;
// no output may hold either.
const (
	catPGPassword = "right-pw-s3cret"
	catPGWrong    = "wrong-pw-s3cret"
)

// catPostgres is the PostgreSQL of the postgres rows ($PG): user postgres
// logs in with no password, every other user (app) with one. $PGHANG is a
// TCP listener that accepts connections and never answers.
type catPostgres struct {
	pg   *harness.Postgres
	hang string
}

// startCatPostgres starts the postgres rows' servers.
func startCatPostgres(t *testing.T) *catPostgres {
	t.Helper()
	pg := harness.StartPostgres(t)
	psql := func(sql string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(pg.BinDir, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
			"-h", "127.0.0.1", "-p", strconv.Itoa(pg.Port), "-U", pg.User, "-d", pg.Database, "-c", sql)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PGCONNECT_TIMEOUT=5"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("psql %s: %v\n%s", sql, err, out)
		}
	}
	psql("CREATE ROLE app LOGIN PASSWORD '" + catPGPassword + "'")
	hba := "host all " + pg.User + " 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
	if err := os.WriteFile(filepath.Join(pg.DataDir, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		t.Fatal(err)
	}
	psql("SELECT pg_reload_conf()")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return &catPostgres{pg: pg, hang: ln.Addr().String()}
}

// tokens are the postgres rows' tokens and their values, in
// strings.NewReplacer's order ($PGHANG before $PG, which it starts with).
func (p *catPostgres) tokens() []string {
	return []string{"$PGHANG", p.hang, "$PG", p.pg.HostPort}
}

// catPGURL is a backend URL of the catalogue's PostgreSQL: userinfo
// ("app:pw", "postgres"), host $PG or $PGHANG, database, parameters.
func catPGURL(userinfo, host, database, params string) string {
	return "postgres://" + userinfo + "@" + host + "/" + database + "?sslmode=disable" + params
}

// catRowsPostgres are the postgres rows.
func catRowsPostgres(w *catWorld) []catRow {
	db := w.pg.pg.Database
	noSecret := catChecks(catOutLacks(catPGPassword), catOutLacks(catPGWrong))
	const backend = "PostgreSQL asking app for a password"
	return []catRow{{
		name: "pg-wrong-password-url", backend: backend,
		setup: catStaging,
		args:  catRestoreS3(catPGURL("app:"+catPGWrong, "$PG", db, ""), "staging"),
		code:  1, want: `password authentication failed for user "app" on $PG: check PGPASSWORD or the password in the backend URL`,
		check: noSecret,
	}, {
		name: "pg-wrong-password-env", backend: backend,
		setup: catStaging,
		env:   []string{"PGPASSWORD=" + catPGWrong},
		args:  catRestoreS3(catPGURL("app", "$PG", db, ""), "staging"),
		code:  1, want: "check PGPASSWORD or the password in the backend URL",
		check: noSecret,
	}, {
		name: "pg-no-password", backend: backend,
		setup: catStaging,
		args:  catRestoreS3(catPGURL("app", "$PG", db, ""), "staging"),
		code:  1, want: "check PGPASSWORD or the password in the backend URL",
		check: noSecret,
	}, {
		name: "pg-missing-table", backend: "PostgreSQL",
		setup: catStaging,
		args:  catRestoreS3(catPGURL("app:"+catPGPassword, "$PG", db, "&table=nosuch_state"), "staging"),
		code:  1, want: "table nosuch_state does not exist",
		check: catChecks(noSecret, catOutLacks("\n\n")),
	}, {
		name: "pg-missing-database", backend: "PostgreSQL",
		setup: catStaging,
		args:  catRestoreS3(catPGURL("app:"+catPGPassword, "$PG", "nosuchdb", ""), "staging"),
		code:  1, want: `database "nosuchdb" does not exist on $PG`,
		check: noSecret,
	}, {
		name: "pg-ssl-refused", backend: "PostgreSQL without SSL",
		setup: catStaging,
		args:  catRestoreS3("postgres://app:"+catPGPassword+"@$PG/"+db+"?sslmode=require", "staging"),
		code:  1, want: "sslmode=disable",
		check: noSecret,
	}, {
		name: "pg-hang-timeout-2s", backend: "a TCP listener that never answers",
		setup: catStaging,
		args:  catRestoreS3(catPGURL("app:"+catPGPassword, "$PGHANG", db, ""), "staging", "--timeout", "2s"),
		code:  1, want: "timed out", within: 5 * time.Second,
		check: noSecret,
	}, {
		name: "pg-hang-connect-timeout", backend: "a TCP listener that never answers",
		setup: catStaging,
		args:  catRestoreS3(catPGURL("app:"+catPGPassword, "$PGHANG", db, "&connect_timeout=1"), "staging"),
		code:  1, want: "PostgreSQL at $PGHANG did not answer", within: 5 * time.Second,
		check: noSecret,
	}, {
		// Rows whose decoded data is hostile: read a chunk at a time, and
		// decoded only as far as the checkpoint cap, in bounded memory.
		name: "pg-zstd-bomb-restore", backend: "PostgreSQL",
		setup: func(t *testing.T, c *catCase) {
			w.pg.put(t, "bomb_state", catKey("bomb", ".zst"), w.zbomb)
			catSettings("bomb", "config:\n  demo:x: \"1\"\n")(t, c)
		},
		args: catRestoreS3(catPGURL("postgres", "$PG", db, "&table=bomb_state"), "bomb"),
		code: 1, want: "#" + db + "/" + catKey("bomb", ".zst") + ": checkpoint too large", maxRSS: catBoundedRSS,
	}, {
		name: "pg-100MB-token-restore", backend: "PostgreSQL",
		setup: func(t *testing.T, c *catCase) {
			big, err := os.ReadFile(w.bigToken)
			if err != nil {
				t.Fatal(err)
			}
			w.pg.put(t, "big_state", catKey("big", ""), big)
			catSettings("big", "config:\n  demo:x: \"1\"\n")(t, c)
		},
		args: catRestoreS3(catPGURL("postgres", "$PG", db, "&table=big_state"), "big"),
		code: 0, want: "big: updated Pulumi.big.yaml (awskms alias/pulumi_backend_software)", maxRSS: catBoundedRSS,
	}}
}

// put stores key (with the database's prefix) and .pulumi/meta.yaml in
// table, as pulumi writes them.
func (p *catPostgres) put(t *testing.T, table, key string, data []byte) {
	t.Helper()
	db := p.pg.Database
	p.pg.PutObjects(t, db, table, map[string][]byte{db + "/.pulumi/meta.yaml": []byte("version: 1\n"), db + "/" + key: data})
}

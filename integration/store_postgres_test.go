package integration

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stacksync/stacksync/integration/harness"
	"github.com/stacksync/stacksync/pkg/state/postgresstore"
	"github.com/stacksync/stacksync/pkg/state/store"
	"github.com/stacksync/stacksync/pkg/state/storetest"
)

// TestStoreContractPostgres runs the store contract on the PostgreSQL
// store against a real server, in pulumi's table layout: with the
// database as key prefix (as pulumi writes it), with none, in a table of
// another name, and reading a byte at a time through chunks of 3 bytes.
func TestStoreContractPostgres(t *testing.T) {
	pg := harness.StartPostgres(t)
	db := pg.Database
	dsn := "postgres://" + pg.User + "@" + pg.HostPort + "/" + db + "?sslmode=disable"
	for _, c := range []struct {
		name, table, prefix string
		chunk               int64
	}{
		{"database prefix", harness.PostgresTable, db + "/", 0},
		{"no prefix", "bare_state", "", 0},
		// Keys whose LIKE would match other rows unescaped.
		{"wildcards in prefix", "wild_state", "a_b%c/", 0},
		{"chunks of 3 bytes", "chunked_state", db + "/", 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			storetest.Contract(t, func(t *testing.T, objects map[string][]byte) store.Store {
				rows := map[string][]byte{}
				for k, v := range objects {
					rows[c.prefix+k] = v
				}
				if c.prefix == "a_b%c/" {
					// Rows LIKE 'a_b%c/%' would match, unescaped.
					rows["axb/c/.pulumi/meta.yaml"] = []byte("decoy")
					rows["a_bXXc/.pulumi/meta.yaml"] = []byte("decoy")
				}
				pg.PutObjects(t, db, c.table, rows)
				s, err := postgresstore.New(context.Background(), postgresstore.Options{
					DSN: dsn, Table: c.table, Prefix: c.prefix, ChunkSize: c.chunk,
				})
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
		})
	}
}

// TestStorePostgresErrors: a missing table or database is not found, with
// a message naming what to fix; a wrong password is access denied,
// naming PGPASSWORD and never the password.
func TestStorePostgresErrors(t *testing.T) {
	pg := harness.StartPostgres(t)
	ctx := context.Background()
	base := "postgres://" + pg.User + "@" + pg.HostPort
	tests := []struct {
		name, dsn, table string
		sentinel         error
		want             string
	}{
		{"missing table", base + "/" + pg.Database + "?sslmode=disable", "nosuch_state", store.ErrNotFound, "?table="},
		{"missing database", base + "/nosuchdb?sslmode=disable", "", store.ErrNotFound, `database "nosuchdb" does not exist`},
		{"no SSL on the server", base + "/" + pg.Database + "?sslmode=require", "", nil, "sslmode=disable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := postgresstore.New(ctx, postgresstore.Options{DSN: tt.dsn, Table: tt.table})
			if err != nil {
				t.Fatal(err)
			}
			err = s.List(ctx, ".pulumi/", true, func(store.Object) error { return nil })
			if err == nil || (tt.sentinel != nil && !errors.Is(err, tt.sentinel)) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("List = %v, want %v naming %q", err, tt.sentinel, tt.want)
			}
			if _, err := s.Stat(ctx, ".pulumi/meta.yaml"); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Stat = %v, want an error naming %q", err, tt.want)
			}
		})
	}
}

// TestStorePostgresRewrittenMidRead: a read in chunks of an object that
// pulumi rewrites meanwhile reads the version it started on, whole: one
// statement, one snapshot.
func TestStorePostgresRewrittenMidRead(t *testing.T) {
	pg := harness.StartPostgres(t)
	ctx := context.Background()
	const key = ".pulumi/stacks/demo/dev.json"
	pg.PutObject(t, pg.Database, harness.PostgresTable, key, []byte("0123456789"))
	s, err := postgresstore.New(ctx, postgresstore.Options{
		DSN:   "postgres://" + pg.User + "@" + pg.HostPort + "/" + pg.Database + "?sslmode=disable",
		Table: harness.PostgresTable, ChunkSize: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.ReadRange(ctx, key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	first := make([]byte, 3)
	if _, err := io.ReadFull(rc, first); err != nil || string(first) != "012" {
		t.Fatalf("first chunk %q, %v", first, err)
	}
	pg.PutObject(t, pg.Database, harness.PostgresTable, key, []byte("abcdefghij"))
	rest, err := io.ReadAll(rc)
	if err != nil || string(first)+string(rest) != "0123456789" {
		t.Errorf("read across the rewrite = %q, %v; want the first version whole", string(first)+string(rest), err)
	}
	// The connection went back to the pool in a state fit for reuse.
	for range 20 {
		if _, err := s.Stat(ctx, key); err != nil {
			t.Fatalf("Stat after the read: %v", err)
		}
	}
}

// TestStorePostgresHungServer: a server that accepts connections and
// never answers fails a call after ConnectTimeout, and a caller's
// cancellation ends the call at once, with the context's error.
func TestStorePostgresHungServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s, err := postgresstore.New(context.Background(), postgresstore.Options{
		DSN:            "postgres://u:s3cret@" + ln.Addr().String() + "/db?sslmode=disable",
		ConnectTimeout: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = s.Stat(context.Background(), ".pulumi/meta.yaml")
	if took := time.Since(start); err == nil || !strings.Contains(err.Error(), "did not answer within 500ms (connect_timeout)") || took > 2*time.Second {
		t.Errorf("Stat on a hung server = %v after %v, want \"did not answer within 500ms (connect_timeout)\" within 2s", err, took)
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Stat error %q matches context.DeadlineExceeded or shows the password", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	err = s.List(ctx, ".pulumi/", true, func(store.Object) error { return nil })
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > time.Second {
		t.Errorf("List with a 200ms context on a hung server = %v after %v, want context.DeadlineExceeded at once", err, took)
	}
}

// TestStorePostgresQueryTimeout: a query the server holds up (a table
// locked by another session) fails after QueryTimeout, and the store's
// next query, the lock gone, succeeds on a fresh connection.
func TestStorePostgresQueryTimeout(t *testing.T) {
	pg := harness.StartPostgres(t)
	const key = ".pulumi/meta.yaml"
	pg.PutObject(t, pg.Database, harness.PostgresTable, key, []byte("version: 1\n"))
	locker := exec.Command(filepath.Join(pg.BinDir, "psql"), "-X", "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(pg.Port), "-U", pg.User, "-d", pg.Database)
	locker.Env = []string{"PATH=" + os.Getenv("PATH")}
	stdin, err := locker.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := locker.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(stdin, "BEGIN; LOCK TABLE "+harness.PostgresTable+" IN ACCESS EXCLUSIVE MODE;\n"); err != nil {
		t.Fatal(err)
	}
	s, err := postgresstore.New(context.Background(), postgresstore.Options{
		DSN:          "postgres://" + pg.User + "@" + pg.HostPort + "/" + pg.Database + "?sslmode=disable",
		QueryTimeout: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the lock taken
	start := time.Now()
	rc, err := s.ReadRange(context.Background(), key, 0, -1)
	if rc != nil {
		rc.Close()
	}
	if took := time.Since(start); err == nil || !strings.Contains(err.Error(), "did not answer within 500ms") || took > 2*time.Second {
		t.Errorf("ReadRange of a locked table = %v after %v, want \"did not answer within 500ms\" within 2s", err, took)
	}
	start = time.Now()
	_, err = s.Stat(context.Background(), key)
	if took := time.Since(start); err == nil || !strings.Contains(err.Error(), "did not answer within 500ms") || took > 2*time.Second {
		t.Errorf("Stat of a locked table = %v after %v, want \"did not answer within 500ms\" within 2s", err, took)
	}
	stdin.Close() // psql ends, and its transaction with it
	if err := locker.Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(context.Background(), key); err != nil {
		t.Errorf("Stat once the lock is gone: %v", err)
	}
}

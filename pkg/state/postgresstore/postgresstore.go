// Package postgresstore is the store.Store of a postgres:// backend: the
// rows of the one table pulumi keeps its objects in, read with SELECT
// statements only, under deadlines and bounded retries, with errors that
// say what to fix and never a password.
package postgresstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lib/pq"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// maxConns bounds the connections one store opens, each read holding
// one until it is closed: enough for the concurrent reads of an audit
// (-j 16), far below a server's max_connections (100 by default).
const maxConns = 16

// pgStore is a store.Store over one table of a PostgreSQL database.
type pgStore struct {
	db     *sql.DB
	conn   *connector
	q      queries
	prefix string
	opts   Options
	errs   pgErrors
	// base is the connection as Location prints it, without the
	// password: postgres://user@host:port/database?table=t
	base string
}

// New opens the table opts names, configuring the connection from
// opts.DSN and then the PG* environment, as lib/pq does for pulumi. It
// connects lazily: a wrong host, password or database is reported by the
// first call, with the sentinel and the message to act on.
func New(ctx context.Context, o Options) (store.Store, error) {
	o = o.withDefaults()
	if !validTable(o.Table) {
		return nil, fmt.Errorf("table %q is not a plain SQL table name (table, schema.table, or a double-quoted name): check ?table= in the backend URL", o.Table)
	}
	cfg, err := pq.NewConfig(o.DSN)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its URL holds the password
		}
		return nil, fmt.Errorf("postgres:// backend: %w", err)
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = o.ConnectTimeout
	}
	pc, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres:// backend: %w", err)
	}
	conn := newConnector(pc, net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second})
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(time.Minute)
	server := serverName(cfg)
	s := &pgStore{
		db:     db,
		conn:   conn,
		q:      newQueries(o.Table),
		prefix: o.Prefix,
		opts:   o,
		errs:   pgErrors{server: server, user: cfg.User, database: cfg.Database, table: o.Table, connectTimeout: cfg.ConnectTimeout, opts: o},
		base:   location(cfg.User, server, cfg.Database, o.Table),
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

// serverName is "host:port" of cfg, or the socket directory and port.
func serverName(cfg pq.Config) string {
	host := cfg.Host
	if cfg.Hostaddr.IsValid() {
		host = cfg.Hostaddr.String()
	}
	port := strconv.Itoa(int(cfg.Port))
	if strings.HasPrefix(host, "/") || strings.HasPrefix(host, "@") {
		return host + ":" + port
	}
	if strings.Contains(host, ":") && !strings.Contains(host, ",") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// location is the connection's name in messages, without a password:
// postgres://user@host:port/database?table=t.
func location(user, server, database, table string) string {
	u := url.URL{Scheme: "postgres", Host: server, Path: "/" + database, RawQuery: "table=" + url.QueryEscape(table)}
	if user != "" {
		u.User = url.User(user)
	}
	if strings.HasPrefix(server, "/") || strings.HasPrefix(server, "@") {
		// A socket directory is no URL host; lib/pq takes it as host=.
		u.Host = ""
		u.RawQuery = "host=" + url.QueryEscape(server) + "&" + u.RawQuery
	}
	return u.String()
}

// Location implements store.Store: the connection, then the row's key as
// the URL's fragment.
func (s *pgStore) Location(key string) string {
	return s.base + "#" + s.prefix + key
}

// do runs one query under the store's deadlines: each attempt gets
// QueryTimeout, and an error that may go away is retried after a short
// backoff, up to MaxAttempts attempts in all.
func (s *pgStore) do(ctx context.Context, query func(ctx context.Context, c *sql.Conn) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = s.attempt(ctx, query)
		if err == nil || ctx.Err() != nil || attempt >= s.opts.MaxAttempts || !retryable(err) {
			break
		}
		if err := sleep(ctx, attempt); err != nil {
			return err
		}
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return s.errs.wrap(ctx, err)
	}
	return err
}

// attempt runs query once, on a connection of its own, within
// QueryTimeout: when the time is up or ctx ends, the connection's socket
// is closed, which ends the query whatever the server does. Waiting for a
// connection is not counted: the pool's queue is no fault of the server's,
// and setting one up is bounded by connect_timeout.
func (s *pgStore) attempt(ctx context.Context, query func(ctx context.Context, c *sql.Conn) error) error {
	c, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	qctx, cancel := context.WithTimeout(ctx, s.opts.QueryTimeout)
	defer cancel()
	var sock *socket
	_ = c.Raw(func(dc any) error { sock = s.conn.socketOf(dc); return nil })
	if sock != nil {
		stop := context.AfterFunc(qctx, func() { sock.Close() })
		err = query(qctx, c)
		stop()
	} else {
		err = query(qctx, c)
	}
	release(c, sock)
	if err != nil && ctx.Err() == nil && qctx.Err() != nil {
		return errQueryTimeout
	}
	return err
}

// errQueryTimeout marks a query that took more than QueryTimeout.
var errQueryTimeout = errors.New("query timeout")

// List implements store.Store with one query. The rows are collected
// before fn sees the first, so fn holds no connection and its time counts
// against no query deadline.
func (s *pgStore) List(ctx context.Context, prefix string, recursive bool, fn func(store.Object) error) error {
	full := s.prefix + prefix
	var objs []store.Object
	err := s.do(ctx, func(ctx context.Context, c *sql.Conn) error {
		objs = objs[:0]
		var rows *sql.Rows
		var err error
		if recursive {
			rows, err = c.QueryContext(ctx, s.q.list, escapeLike(full)+"%")
		} else {
			rows, err = c.QueryContext(ctx, s.q.listShallow, escapeLike(full)+"%", utf8.RuneCountInString(full)+1)
		}
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var key string
			var at time.Time
			var size sql.NullInt64
			if err := rows.Scan(&key, &at, &size); err != nil {
				return err
			}
			objs = append(objs, store.Object{Key: strings.TrimPrefix(key, s.prefix), Size: size.Int64, ModTime: at})
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("listing %s: %w", s.Location(prefix), err)
	}
	for _, o := range objs {
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

// Stat implements store.Store with one query, which reads the object's
// size from the length of its base64 text.
func (s *pgStore) Stat(ctx context.Context, key string) (store.Object, error) {
	var at time.Time
	var size sql.NullInt64
	err := s.do(ctx, func(ctx context.Context, c *sql.Conn) error {
		return c.QueryRowContext(ctx, s.q.stat, s.prefix+key).Scan(&at, &size)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return store.Object{}, fmt.Errorf("looking up %s: %w", s.Location(key), store.ErrNotFound)
	}
	if err != nil {
		return store.Object{}, fmt.Errorf("looking up %s: %w", s.Location(key), err)
	}
	if !size.Valid {
		return store.Object{}, fmt.Errorf("looking up %s: %w", s.Location(key), errNoData)
	}
	return store.Object{Key: key, Size: size.Int64, ModTime: at}, nil
}

// errNoData marks a row whose data column has no "data" string: not an
// object pulumi wrote.
var errNoData = errors.New(`the row's data has no "data" field of base64 text, as pulumi writes it`)

package postgresstore

import (
	"time"

	"github.com/stacksync/stacksync/pkg/state/internal/transfer"
)

// Defaults of the deadlines, retry bounds and read size of Options, chosen
// for an unattended CI job: a healthy server answers the store's queries in
// milliseconds, so a hung or black-holed server fails the job in seconds
// instead of stalling it until the runner's own timeout.
const (
	// DefaultConnectTimeout bounds establishing a connection (TCP, TLS,
	// authentication), as lib/pq's connect_timeout does; it applies when
	// neither the URL nor PGCONNECT_TIMEOUT sets one.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultQueryTimeout bounds one query, from taking a connection
	// (setting one up if need be) to its last row: when it is up, the
	// connection's socket is closed, so a server that stops answering
	// mid-query fails the query then, whatever it does.
	DefaultQueryTimeout = 20 * time.Second
	// DefaultMaxAttempts is the number of attempts of one query that
	// fails for a reason that goes away (the server starting up or
	// shutting down, too many connections, a broken connection).
	DefaultMaxAttempts = 3
	// DefaultChunkSize is the number of object bytes one row of a read
	// carries. A read is one query however many rows it takes, and holds
	// one row at a time: about 2.5 times this in memory (the base64 text
	// and its decoded bytes), whatever the object's size.
	DefaultChunkSize = 1 << 20
)

// Options configure a store: the connection, table and key prefix a
// postgres:// backend URL names (ParseBackendURL in package state computes
// them as pulumi does), then the deadlines and bounds of its queries. A
// zero deadline or bound takes its Default constant.
type Options struct {
	// DSN is the connection URL lib/pq opens: the backend URL without
	// its table=, prefix= and key= parameters, as pulumi passes it. lib/pq
	// fills what it leaves out from the PG* environment (PGHOST,
	// PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE…).
	DSN string
	// Table is the table holding the objects, as the URL's table=
	// parameter names it: a plain or double-quoted SQL identifier,
	// optionally schema-qualified, which the store's SQL names as it is,
	// as pulumi's does.
	Table string
	// Prefix is put in front of every key to make a row's key: pulumi's
	// prefix= parameter, then the URL's path ("<database>/") when it
	// names one.
	Prefix string

	// ConnectTimeout bounds establishing a connection when the DSN and
	// PGCONNECT_TIMEOUT set no connect_timeout.
	ConnectTimeout time.Duration
	// QueryTimeout bounds each attempt of a query, connection set-up
	// included.
	QueryTimeout time.Duration
	// MaxAttempts bounds the attempts of one query; only errors that go
	// away on their own are retried.
	MaxAttempts int
	// ChunkSize is the number of object bytes one row of a read
	// carries.
	ChunkSize int64
}

// withDefaults fills the zero fields with their defaults.
func (o Options) withDefaults() Options {
	transfer.Default(&o.ConnectTimeout, DefaultConnectTimeout)
	transfer.Default(&o.QueryTimeout, DefaultQueryTimeout)
	transfer.Default(&o.MaxAttempts, DefaultMaxAttempts)
	transfer.Default(&o.ChunkSize, DefaultChunkSize)
	// Whole base64 quanta: a chunk of 3k bytes is 4k characters.
	o.ChunkSize = max(o.ChunkSize/3*3, 3)
	if o.Table == "" {
		o.Table = DefaultTable
	}
	return o
}

// DefaultTable is the table pulumi keeps its objects in when the backend
// URL has no table= parameter.
const DefaultTable = "pulumi_state"

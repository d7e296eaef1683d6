package postgresstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/stacksync/stacksync/pkg/state/internal/transfer"
	"github.com/stacksync/stacksync/pkg/state/store"
)

// pgErrors turns lib/pq's and the server's errors into short messages that
// say what to fix, wrapping the sentinels callers branch on. No message
// holds a password: the server's never do, and the connection is named by
// user, host, port and database only.
type pgErrors struct {
	server   string // "host:port", for messages
	user     string
	database string
	table    string
	// connectTimeout is lib/pq's connect_timeout, which bounds setting a
	// connection up.
	connectTimeout time.Duration
	opts           Options
}

// wrap maps err, returned by a query made under ctx (the caller's).
func (m pgErrors) wrap(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		// The caller's deadline or cancellation, not the server's fault.
		return ctx.Err()
	}
	short := func(sentinel, cause error, format string, args ...any) error {
		return &transfer.Error{Msg: fmt.Sprintf(format, args...), Sentinel: sentinel, Cause: cause}
	}
	var pe *pq.Error
	if errors.As(err, &pe) {
		switch code := pe.Code; {
		case code == pqerror.UndefinedTable:
			return short(store.ErrNotFound, pe, "%v: table %s does not exist in database %q on %s: pulumi creates it at its first login there; check ?table= in the backend URL", store.ErrNotFound, m.table, m.database, m.server)
		case code == pqerror.InvalidCatalogName:
			return short(store.ErrNotFound, pe, "%v: database %q does not exist on %s: check the database in the backend URL's path, or PGDATABASE", store.ErrNotFound, m.database, m.server)
		case code == pqerror.InvalidPassword:
			return short(store.ErrAccessDenied, pe, "%v: password authentication failed for user %q on %s: check PGPASSWORD or the password in the backend URL", store.ErrAccessDenied, m.user, m.server)
		case len(code) == 5 && code.Class() == pqerror.ClassInvalidAuthorizationSpecification:
			return short(store.ErrAccessDenied, pe, "%v: %s refuses user %q: %s; check PGUSER, the user in the backend URL, and sslmode", store.ErrAccessDenied, m.server, m.user, pe.Message)
		case code == pqerror.InsufficientPrivilege:
			return short(store.ErrAccessDenied, pe, "%v: user %q may not read table %s on %s: %s; grant it SELECT on the table", store.ErrAccessDenied, m.user, m.table, m.server, pe.Message)
		case code == pqerror.QueryCanceled:
			return short(nil, nil, "PostgreSQL at %s did not finish a query within %s; check that the server is not overloaded", m.server, m.opts.QueryTimeout)
		case retryable(err):
			return short(nil, pe, "PostgreSQL at %s is unavailable: %s (SQLSTATE %s); try again later", m.server, pe.Message, pe.Code)
		}
		return short(nil, pe, "PostgreSQL at %s: %s (SQLSTATE %s)", m.server, pe.Message, pe.Code)
	}
	if errors.Is(err, pq.ErrSSLNotSupported) {
		return short(nil, err, "PostgreSQL at %s does not accept SSL, which sslmode asks for: add ?sslmode=disable to the backend URL or set PGSSLMODE=disable, on a trusted network only", m.server)
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		tlsRecord        tls.RecordHeaderError
		tlsVerify        *tls.CertificateVerificationError
	)
	if errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &tlsRecord) || errors.As(err, &tlsVerify) {
		return short(nil, err, "TLS with PostgreSQL at %s failed: %v; check sslmode (and sslrootcert for verify-ca or verify-full) in the backend URL or PGSSLMODE", m.server, err)
	}
	if errors.Is(err, errQueryTimeout) || errors.Is(err, context.DeadlineExceeded) {
		return short(nil, nil, "PostgreSQL at %s did not answer within %s; check the host and port (PGHOST, PGPORT) and that the server is up", m.server, m.opts.QueryTimeout)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		// The only deadline lib/pq sets: that of the connection's set-up.
		return short(nil, nil, "PostgreSQL at %s did not answer within %s (connect_timeout); check the host and port (PGHOST, PGPORT) and that the server is up", m.server, m.connectTimeout)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return short(nil, err, "cannot reach PostgreSQL at %s: %v; check the host and port (PGHOST, PGPORT) and that the server is up", m.server, op.Err)
	}
	return short(nil, err, "PostgreSQL at %s: %v", m.server, err)
}

// retryable reports whether a query that failed with err may succeed if
// sent again: the server starting, shutting down or out of connections, a
// serialization failure, or a connection broken mid-query.
func retryable(err error) bool {
	var pe *pq.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case pqerror.CannotConnectNow, pqerror.TooManyConnections, pqerror.AdminShutdown,
			pqerror.CrashShutdown, pqerror.TRSerializationFailure:
			return true
		}
		return len(pe.Code) == 5 && pe.Code.Class() == pqerror.ClassConnectionException
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

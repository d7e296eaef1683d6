package postgresstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// ReadRange implements store.Store with one query. The object's base64
// text is cut on the server, so only the range asked for crosses the
// network, and comes as rows of ChunkSize object bytes each, decoded one
// at a time as the reader is read: a read holds at most one chunk,
// however large the row, and a reader closed early (a checkpoint past
// the decoding cap) ends the transfer. Being one statement, a read sees
// one version of the object even if pulumi rewrites it meanwhile.
//
// The query's connection is the reader's until it is closed. Its socket
// is closed when ctx ends, and when a row is awaited for QueryTimeout.
func (s *pgStore) ReadRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if n == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	off = max(off, 0)
	if off > math.MaxInt32 {
		return io.NopCloser(strings.NewReader("")), nil // past any json value
	}
	r := &rowReader{s: s, ctx: ctx, key: key, skip: off % 3, left: -1}
	chars := int64(math.MaxInt32)
	if n > 0 {
		r.left = n
		chars = min((off%3+n+2)/3*4, chars)
	}
	chunk := s.opts.ChunkSize / 3 * 4
	var err error
	for attempt := 1; ; attempt++ {
		err = r.start(off/3*4+1, chunk, chars)
		if err == nil || ctx.Err() != nil || attempt >= s.opts.MaxAttempts || !retryable(err) {
			break
		}
		if err := sleep(ctx, attempt); err != nil {
			break
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("reading %s: %w", s.Location(key), store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.Location(key), r.mapErr(err))
	}
	return r, nil
}

// rowReader reads the rows of one read query.
type rowReader struct {
	s   *pgStore
	ctx context.Context
	key string

	conn     *sql.Conn
	rows     *sql.Rows
	release  func() // stops the socket's closers
	sock     *socket
	idle     *time.Timer
	timedOut atomic.Bool

	skip int64  // bytes of the next chunk before the range
	left int64  // bytes of the range still to deliver; -1: to the end
	buf  []byte // decoded bytes not yet read
	dec  []byte // the decoding buffer
	done bool   // no more rows
	err  error
}

// start sends the query and reads its first row.
func (r *rowReader) start(first, chunk, chars int64) error {
	c, err := r.s.db.Conn(r.ctx) // as in pgStore.attempt
	if err != nil {
		return err
	}
	r.conn = c
	_ = c.Raw(func(dc any) error { r.sock = r.s.conn.socketOf(dc); return nil })
	if r.sock != nil {
		sock := r.sock
		stop := context.AfterFunc(r.ctx, func() { sock.Close() })
		r.idle = time.AfterFunc(r.s.opts.QueryTimeout, func() { r.timedOut.Store(true); sock.Close() })
		r.release = func() { stop(); r.idle.Stop() }
	}
	r.rows, err = c.QueryContext(r.ctx, r.s.q.read, r.s.prefix+r.key, first, chunk, chars)
	if err == nil {
		err = r.next()
		if err == io.EOF {
			// No row, the query complete: the key is missing.
			r.close(false)
			return sql.ErrNoRows
		}
	}
	if err != nil {
		r.close(true)
		return err
	}
	return nil
}

// next reads the next row into buf, io.EOF after the last.
func (r *rowReader) next() error {
	// The idle timer runs only while the server is waited on, not while
	// the caller takes its time between two reads.
	if r.idle != nil {
		r.idle.Reset(r.s.opts.QueryTimeout)
	}
	more := r.rows.Next()
	if r.idle != nil {
		r.idle.Stop()
	}
	if !more {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	var size sql.NullInt64
	var text sql.RawBytes
	if err := r.rows.Scan(&size, &text); err != nil {
		return err
	}
	if !size.Valid {
		return errNoData
	}
	if cap(r.dec) < base64.StdEncoding.DecodedLen(len(text)) {
		r.dec = make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	}
	m, err := base64.StdEncoding.Decode(r.dec[:cap(r.dec)], text)
	if err != nil {
		return fmt.Errorf("%w: %w", errNotBase64, err)
	}
	data := r.dec[:m]
	k := min(r.skip, int64(len(data)))
	data, r.skip = data[k:], r.skip-k
	if r.left >= 0 {
		data = data[:min(int64(len(data)), r.left)]
		r.left -= int64(len(data))
	}
	r.buf = data
	return nil
}

// Read implements io.Reader.
func (r *rowReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.left == 0 && !r.done {
			// The query sent no more than the range: what is left is
			// its completion, which the connection must read before
			// it is reused.
			r.done = true
			r.close(false)
		}
		if r.done {
			return 0, io.EOF
		}
		switch err := r.next(); {
		case err == io.EOF:
			r.done = true
			r.close(false)
		case err != nil:
			r.err = fmt.Errorf("reading %s: %w", r.s.Location(r.key), r.mapErr(err))
			r.close(true)
			return 0, r.err
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// mapErr maps an error of the read's query.
func (r *rowReader) mapErr(err error) error {
	if r.ctx.Err() == nil && r.timedOut.Load() {
		err = errQueryTimeout
	}
	if errors.Is(err, errNoData) || errors.Is(err, errNotBase64) || errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return r.s.errs.wrap(r.ctx, err)
}

// close ends the query and gives the connection back; abort closes its
// socket first, so that rows not yet sent are not transferred to be
// dropped (the pool then discards the connection).
func (r *rowReader) close(abort bool) {
	if r.conn == nil {
		return
	}
	if abort && r.sock != nil {
		r.sock.Close()
	}
	if r.rows != nil {
		r.rows.Close()
	}
	if r.release != nil {
		r.release()
	}
	release(r.conn, r.sock)
	r.conn, r.rows = nil, nil
}

// Close implements io.Closer.
func (r *rowReader) Close() error {
	r.close(!r.done && r.left != 0)
	r.buf, r.done = nil, true
	if r.err == nil {
		r.err = errors.New("read after Close")
	}
	return nil
}

// errNotBase64 marks a row whose data is not base64 text.
var errNotBase64 = errors.New("the row's data is not base64 text")

// sleep waits before retry attempt+1, or until ctx ends.
func sleep(ctx context.Context, attempt int) error {
	t := time.NewTimer(100 * time.Millisecond << (attempt - 1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

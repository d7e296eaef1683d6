package postgresstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// errChanged marks an object rewritten between two chunks of one read.
var errChanged = errors.New("the object changed while it was being read; try again")

// ReadRange implements store.Store. The base64 text of an object is cut
// on the server (substr), so only the range asked for crosses the
// network, decoded a chunk of ChunkSize bytes at a time: an object up to
// that size, or any range of it, is one query, and a read holds at most
// one chunk, however large the row. The query of a later chunk asks for
// the row as first read (the same updated_at), so an object rewritten
// meanwhile fails the read instead of splicing two versions.
func (s *pgStore) ReadRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if n == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	r := &rowReader{ctx: ctx, s: s, key: key, pos: max(off, 0), end: -1}
	if n > 0 {
		r.end = r.pos + n
	}
	if err := r.fetch(); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("reading %s: %w", s.Location(key), store.ErrNotFound)
		}
		return nil, fmt.Errorf("reading %s: %w", s.Location(key), err)
	}
	return r, nil
}

// rowReader reads the object of one row from pos to end, a chunk at a
// time.
type rowReader struct {
	ctx context.Context
	s   *pgStore
	key string

	pos     int64 // object offset of the next byte to fetch
	end     int64 // object offset to stop at; -1: the object's end
	fetched bool  // the first chunk was fetched: at and size are known
	at      time.Time
	size    int64
	buf     []byte // fetched bytes not yet read
	err     error
}

// limit is the offset reading stops at.
func (r *rowReader) limit() int64 {
	if r.end >= 0 && r.end < r.size {
		return r.end
	}
	return r.size
}

// fetch reads the next chunk into buf.
func (r *rowReader) fetch() error {
	from := r.pos / 3 * 3 // whole base64 quanta
	to := r.pos + r.s.opts.ChunkSize
	if r.end >= 0 && r.end < to {
		to = r.end
	}
	if r.fetched && r.size < to {
		to = r.size
	}
	chars := (to - from + 2) / 3 * 4
	var (
		at   time.Time
		size sql.NullInt64
		text []byte
	)
	err := r.s.do(r.ctx, func(ctx context.Context, c *sql.Conn) error {
		if !r.fetched {
			return c.QueryRowContext(ctx, r.s.q.read, r.s.prefix+r.key, from/3*4+1, chars).Scan(&at, &size, &text)
		}
		return c.QueryRowContext(ctx, r.s.q.readMore, r.s.prefix+r.key, from/3*4+1, chars, r.at).Scan(&at, &size, &text)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows) && r.fetched:
		return errChanged
	case err != nil:
		return err
	case !size.Valid:
		return errNoData
	case r.fetched && size.Int64 != r.size:
		return errChanged
	}
	r.at, r.size, r.fetched = at, size.Int64, true
	data := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	m, err := base64.StdEncoding.Decode(data, text)
	if err != nil {
		return fmt.Errorf("the row's data is not base64 text: %w", err)
	}
	data = data[:m]
	skip := r.pos - from
	stop := min(to, r.limit()) - from
	if skip >= int64(len(data)) || stop <= skip {
		r.buf = nil
		r.pos = max(r.pos, min(to, r.limit()))
		return nil
	}
	stop = min(stop, int64(len(data)))
	r.buf = data[skip:stop]
	r.pos = from + stop
	return nil
}

// Read implements io.Reader.
func (r *rowReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.pos >= r.limit() {
			return 0, io.EOF
		}
		if err := r.fetch(); err != nil {
			r.err = fmt.Errorf("reading %s: %w", r.s.Location(r.key), err)
			return 0, r.err
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Close implements io.Closer; the reader holds no connection.
func (r *rowReader) Close() error {
	r.buf, r.err = nil, errors.New("read after Close")
	return nil
}

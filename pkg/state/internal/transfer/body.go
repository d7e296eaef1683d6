package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Resume configures a Body: the object and range it reads, the first
// response's version, and the store's means to fetch the rest.
type Resume struct {
	// Loc is the object's location, which every message names.
	Loc string
	// Off is the first byte asked for, N the bytes asked for (< 0: to the
	// end).
	Off, N int64
	// Want is the number of bytes the first response promised (its
	// Content-Length), for messages; -1 unknown.
	Want int64
	// Version is the first response's ETag or generation, on which every
	// later fetch is conditional; "" means the read cannot be resumed
	// safely.
	Version string
	// MaxAttempts bounds the fetches of the body, the first included.
	MaxAttempts int
	// Endpoint names the service in the message of a transfer that broke
	// MaxAttempts times: "check the network and <Endpoint>".
	Endpoint string
	// Resumable reports whether a read error is a broken transfer worth
	// fetching the rest for.
	Resumable func(err error) bool
	// SayBroken, if set, says a read error that is not resumed as how the
	// transfer broke, not as the error alone.
	SayBroken bool
	// Describe says in a few words how a transfer that broke after got
	// bytes broke, for the causes a store knows of (an idle or slow
	// body); "" leaves it to Body.
	Describe func(cause error, got int64) string
	// Backoff is the delay before fetch number fetches+1, after cause.
	Backoff func(fetches int, cause error) time.Duration
	// Fetch gets n bytes of the object from byte start on (n <= 0: to the
	// end), conditional on Version, and checks that the answer is of that
	// version and begins at start. why says how the last transfer broke,
	// for its messages, which name Loc.
	Fetch func(ctx context.Context, start, n int64, why string) (io.ReadCloser, error)
}

// Body is an object body that survives a broken transfer: when a read
// fails with an error worth resuming (a connection reset, a truncated
// body, an idle timeout), it fetches the rest again, from the offset
// reached, conditional on the first response's version so two versions of
// the object are never mixed. It fetches the body at most MaxAttempts
// times in all, counting on its own: an SDK's retry reader that counts per
// Read call would fetch a body that stalls every few bytes without end.
type Body struct {
	ctx context.Context
	r   Resume

	body    io.ReadCloser // nil after a break, until reopened
	got     int64         // bytes delivered so far
	fetches int           // fetches made, the first included
	cause   error         // why the last transfer broke
	err     error         // sticky: returned by every later Read
}

// NewBody wraps rc, the body of the first fetch, made under ctx.
func NewBody(ctx context.Context, rc io.ReadCloser, r Resume) *Body {
	return &Body{ctx: ctx, r: r, body: rc, fetches: 1}
}

// Read implements io.Reader.
func (b *Body) Read(p []byte) (int, error) {
	for {
		if b.err != nil {
			return 0, b.err
		}
		if b.body == nil {
			if err := b.resume(); err != nil {
				b.err = err
				return 0, err
			}
		}
		n, err := b.body.Read(p)
		b.got += int64(n)
		if err == nil || err == io.EOF {
			return n, err
		}
		b.broken(err)
		if n > 0 {
			return n, nil // the bytes are good; the next Read resumes
		}
	}
}

// Close implements io.Closer.
func (b *Body) Close() error {
	if b.err == nil {
		b.err = fmt.Errorf("reading %s: read after close", b.r.Loc)
	}
	if b.body == nil {
		return nil
	}
	err := b.body.Close()
	b.body = nil
	return err
}

// broken closes the failed body and decides whether to resume.
func (b *Body) broken(err error) {
	_ = b.body.Close()
	b.body = nil
	b.cause = err
	loc := b.r.Loc
	switch {
	case b.ctx.Err() != nil:
		b.err = fmt.Errorf("reading %s: %w", loc, b.ctx.Err())
	case !b.r.Resumable(err) && b.r.SayBroken:
		b.err = fmt.Errorf("reading %s: %s", loc, b.describe())
	case !b.r.Resumable(err):
		b.err = fmt.Errorf("reading %s: %v", loc, err)
	case b.r.Version == "":
		b.err = fmt.Errorf("reading %s: %s; the server sent no ETag, so the read cannot be resumed safely", loc, b.describe())
	case b.fetches >= b.r.MaxAttempts:
		b.err = fmt.Errorf("reading %s: %s (%d attempts); check the network and %s", loc, b.describe(), b.fetches, b.r.Endpoint)
	}
}

// describe says in a few words how the last transfer broke.
func (b *Body) describe() string {
	if b.r.Describe != nil {
		if s := b.r.Describe(b.cause, b.got); s != "" {
			return s
		}
	}
	switch {
	case errors.Is(b.cause, io.ErrUnexpectedEOF) && b.r.Want >= 0:
		return fmt.Sprintf("the body ended after %d of %d bytes", b.got, b.r.Want)
	case errors.Is(b.cause, io.ErrUnexpectedEOF):
		return fmt.Sprintf("the body ended early, after %d bytes", b.got)
	}
	return fmt.Sprintf("the transfer broke after %d bytes: %v", b.got, b.cause)
}

// NoData says that a body went idle: no data for idle after got bytes.
func NoData(idle time.Duration, got int64) string {
	return fmt.Sprintf("the server sent no data for %s after %d bytes", idle, got)
}

// resume waits the backoff, then fetches the rest of the range.
func (b *Body) resume() error {
	t := time.NewTimer(b.r.Backoff(b.fetches, b.cause))
	select {
	case <-b.ctx.Done():
		t.Stop()
		return fmt.Errorf("reading %s: %w", b.r.Loc, b.ctx.Err())
	case <-t.C:
	}
	n := b.r.N
	if n > 0 {
		n -= b.got
	}
	b.fetches++
	rc, err := b.r.Fetch(b.ctx, b.r.Off+b.got, n, b.describe())
	if err != nil {
		return err
	}
	b.body = rc
	return nil
}

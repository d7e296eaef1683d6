package gsstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/stacksync/stacksync/pkg/state/internal/transfer"
)

// errIdle is the cause a body's request is cancelled with when no data came
// for IdleBodyTimeout.
var errIdle = errors.New("idle body")

// fetch is one GET's response body and the means to end its request.
type fetch struct {
	rc     io.ReadCloser
	reqCtx context.Context // cancelled with errIdle when the body stalls
	cancel context.CancelCauseFunc
}

// body is a response body read under an idle deadline: each Read that
// waits IdleBodyTimeout without data cancels the request. With resume set,
// a transfer that breaks (connection reset, truncated body, idle) is
// fetched again from the offset reached, up to MaxAttempts fetches in all.
// Its errors name the object.
type body struct {
	ctx  context.Context // the caller's
	cur  fetch
	idle time.Duration
	loc  string
	got  int64
	err  error // sticky

	// resume, if set, GETs the rest of the object from byte got on.
	resume      func(got int64) (fetch, error)
	fetches     int
	maxAttempts int
}

// newBody wraps f, the first fetch of loc under the caller's ctx.
func newBody(ctx context.Context, f fetch, idle time.Duration, loc string) *body {
	return &body{ctx: ctx, cur: f, idle: idle, loc: loc, fetches: 1}
}

// Read implements io.Reader.
func (b *body) Read(p []byte) (int, error) {
	for {
		if b.err != nil {
			return 0, b.err
		}
		cancel := b.cur.cancel
		t := time.AfterFunc(b.idle, func() { cancel(errIdle) })
		n, err := b.cur.rc.Read(p)
		t.Stop()
		b.got += int64(n)
		if err == nil || err == io.EOF {
			return n, err
		}
		why := b.describe(err)
		if b.ctx.Err() != nil {
			b.err = fmt.Errorf("reading %s: %w", b.loc, b.ctx.Err())
			return n, b.err
		}
		if b.resume == nil || b.fetches >= b.maxAttempts {
			b.err = b.broken(why)
			return n, b.err
		}
		b.drop()
		next, rerr := b.resume(b.got)
		b.fetches++
		if rerr != nil {
			b.err = fmt.Errorf("reading %s: resuming after %s: %w", b.loc, why, rerr)
			return n, b.err
		}
		b.cur = next
		if n > 0 {
			return n, nil // the bytes are good; the next Read goes on
		}
	}
}

// describe says in a few words how a transfer broke.
func (b *body) describe(err error) string {
	switch {
	case errors.Is(context.Cause(b.cur.reqCtx), errIdle):
		return transfer.NoData(b.idle, b.got)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("the body ended early, after %d bytes", b.got)
	}
	return fmt.Sprintf("the transfer broke after %d bytes: %v", b.got, err)
}

// broken is the error of a transfer that broke and is not resumed.
func (b *body) broken(why string) error {
	return fmt.Errorf("reading %s: %s%s; check the network and the endpoint, and run the command again", b.loc, why, transfer.Attempts(b.fetches))
}

// drop closes the current fetch.
func (b *body) drop() {
	_ = b.cur.rc.Close()
	b.cur.cancel(context.Canceled)
}

// Close implements io.Closer.
func (b *body) Close() error {
	if b.err == nil {
		b.err = fmt.Errorf("reading %s: read after close", b.loc)
	}
	err := b.cur.rc.Close()
	b.cur.cancel(context.Canceled)
	return err
}

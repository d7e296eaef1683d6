package gsstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// errIdle is the cause a body's request is cancelled with when no data came
// for IdleBodyTimeout.
var errIdle = errors.New("idle body")

// body is a response body read under an idle deadline: each Read that
// waits IdleBodyTimeout without data cancels the request. Its errors name
// the object.
type body struct {
	ctx    context.Context // the caller's
	reqCtx context.Context // the request's, cancelled with errIdle
	cancel context.CancelCauseFunc
	rc     io.ReadCloser
	timer  *time.Timer
	idle   time.Duration
	loc    string
	got    int64
	err    error // sticky
}

// newBody wraps rc, the body of a request made with reqCtx, a child of ctx
// that cancel ends.
func newBody(ctx, reqCtx context.Context, cancel context.CancelCauseFunc, rc io.ReadCloser, idle time.Duration, loc string) *body {
	t := time.AfterFunc(idle, func() { cancel(errIdle) })
	t.Stop()
	return &body{ctx: ctx, reqCtx: reqCtx, cancel: cancel, rc: rc, timer: t, idle: idle, loc: loc}
}

// Read implements io.Reader.
func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	b.timer.Reset(b.idle)
	n, err := b.rc.Read(p)
	b.timer.Stop()
	b.got += int64(n)
	switch {
	case err == nil || err == io.EOF:
		return n, err
	case b.ctx.Err() != nil:
		b.err = fmt.Errorf("reading %s: %w", b.loc, b.ctx.Err())
	case errors.Is(context.Cause(b.reqCtx), errIdle):
		b.err = fmt.Errorf("reading %s: the server sent no data for %s after %d bytes; check the endpoint and that the server is up", b.loc, b.idle, b.got)
	case errors.Is(err, io.ErrUnexpectedEOF):
		b.err = fmt.Errorf("reading %s: the body ended early, after %d bytes; run the command again", b.loc, b.got)
	default:
		b.err = fmt.Errorf("reading %s: the transfer broke after %d bytes: %v", b.loc, b.got, err)
	}
	return n, b.err
}

// Close implements io.Closer.
func (b *body) Close() error {
	if b.err == nil {
		b.err = fmt.Errorf("reading %s: read after close", b.loc)
	}
	b.timer.Stop()
	err := b.rc.Close()
	b.cancel(context.Canceled)
	return err
}

package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// rangeHeader is the Range header that asks for n bytes from off (n < 0:
// to the end), or "" when the whole object is wanted.
func rangeHeader(off, n int64) string {
	switch {
	case n > 0:
		return fmt.Sprintf("bytes=%d-%d", off, off+n-1)
	case off > 0:
		return fmt.Sprintf("bytes=%d-", off)
	}
	return ""
}

// s3Body is the body of a GetObject that survives a broken transfer: when a
// read fails with a connection reset, a truncated body or an idle timeout,
// it GETs the rest again, from the offset reached, with If-Match on the
// first response's ETag so two versions of the object are never mixed. It
// fetches the body at most MaxAttempts times in all.
type s3Body struct {
	ctx context.Context
	s   *s3Store
	key string
	off int64 // first byte asked for
	n   int64 // bytes asked for; < 0: to the end

	body    io.ReadCloser // nil after a break, until reopened
	etag    string
	want    int64 // bytes the first response promised (Content-Length), for messages; -1 unknown
	got     int64 // bytes delivered so far
	fetches int   // GETs made, the first included
	cause   error // why the last transfer broke
	err     error // sticky: returned by every later Read
}

// Read implements io.Reader.
func (b *s3Body) Read(p []byte) (int, error) {
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
func (b *s3Body) Close() error {
	if b.err == nil {
		b.err = fmt.Errorf("reading %s: read after close", b.s.Location(b.key))
	}
	if b.body == nil {
		return nil
	}
	err := b.body.Close()
	b.body = nil
	return err
}

// broken closes the failed body and decides whether to resume.
func (b *s3Body) broken(err error) {
	_ = b.body.Close()
	b.body = nil
	b.cause = err
	loc := b.s.Location(b.key)
	switch {
	case b.ctx.Err() != nil:
		b.err = fmt.Errorf("reading %s: %w", loc, b.ctx.Err())
	case !resumable(err):
		b.err = fmt.Errorf("reading %s: %v", loc, err)
	case b.etag == "":
		b.err = fmt.Errorf("reading %s: %s; the server sent no ETag, so the read cannot be resumed safely", loc, b.describe())
	case b.fetches >= b.s.opts.MaxAttempts:
		b.err = fmt.Errorf("reading %s: %s (%d attempts); check the network and the S3 endpoint", loc, b.describe(), b.fetches)
	}
}

// describe says in a few words how the last transfer broke.
func (b *s3Body) describe() string {
	var idle *awshttp.ResponseTimeoutError
	var slow *slowBodyError
	switch {
	case errors.As(b.cause, &idle):
		return fmt.Sprintf("the server sent no data for %s after %d bytes", idle.TimeoutDur, b.got)
	case errors.As(b.cause, &slow):
		return fmt.Sprintf("the server sent the body too slowly: %v", slow)
	case errors.Is(b.cause, io.ErrUnexpectedEOF):
		if b.want >= 0 {
			return fmt.Sprintf("the body ended after %d of %d bytes", b.got, b.want)
		}
		return fmt.Sprintf("the body ended early, after %d bytes", b.got)
	}
	return fmt.Sprintf("the transfer broke after %d bytes: %v", b.got, b.cause)
}

// cut makes a server's string fit a one-line message: clip to 64 bytes.
func cut(s string) string { return clip(s, 64) }

// clip escapes the control bytes of s as \xNN and cuts it to n bytes.
func clip(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s) && i < n; i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			fmt.Fprintf(&b, `\x%02x`, c)
		} else {
			b.WriteByte(c)
		}
	}
	if len(s) > n {
		b.WriteString("…")
	}
	return b.String()
}

// resumable reports whether a body read error is a broken transfer worth
// fetching the rest for, as the SDK's standard retryer would retry it.
func resumable(err error) bool {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	return retry.RetryableConnectionError{}.IsErrorRetryable(err) == aws.TrueTernary
}

// resume waits the retryer's backoff, then GETs the rest of the range.
func (b *s3Body) resume() error {
	loc := b.s.Location(b.key)
	delay, err := b.s.retryer.RetryDelay(b.fetches, b.cause)
	if err != nil {
		delay = 0
	}
	t := time.NewTimer(delay)
	select {
	case <-b.ctx.Done():
		t.Stop()
		return fmt.Errorf("reading %s: %w", loc, b.ctx.Err())
	case <-t.C:
	}
	start := b.off + b.got
	n := b.n
	if n > 0 {
		n -= b.got
	}
	in := &s3.GetObjectInput{
		Bucket:  aws.String(b.s.bucket),
		Key:     aws.String(b.s.prefix + b.key),
		IfMatch: aws.String(b.etag),
	}
	if n < 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", start)) // even from 0, to get a Content-Range to check
	} else {
		in.Range = aws.String(rangeHeader(start, n))
	}
	b.fetches++
	out, err := b.s.client.GetObject(b.ctx, in)
	if err != nil {
		var re *awshttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusPreconditionFailed {
			return fmt.Errorf("reading %s: the object changed while it was being read (%s); run the command again", loc, b.describe())
		}
		return fmt.Errorf("reading %s: resuming after %s: %w", loc, b.describe(), b.s.errs.wrap(b.ctx, err))
	}
	// A server that ignores If-Match could send another version of the
	// object, and one that ignores Range the object from its start: check
	// both before appending this body to the bytes already returned.
	if etag := aws.ToString(out.ETag); etag != b.etag {
		_ = out.Body.Close()
		return fmt.Errorf("reading %s: the object changed while it was being read (%s; resuming got ETag %s where the read began with %s); run the command again", loc, b.describe(), cut(etag), cut(b.etag))
	}
	if cr := aws.ToString(out.ContentRange); !strings.HasPrefix(cr, fmt.Sprintf("bytes %d-", start)) {
		_ = out.Body.Close()
		return fmt.Errorf("reading %s: resuming at byte %d, the server answered Content-Range %q; cannot resume", loc, start, cr)
	}
	b.body = out.Body
	return nil
}

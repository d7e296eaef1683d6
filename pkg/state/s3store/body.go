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

	"github.com/stacksync/stacksync/pkg/state/internal/transfer"
)

// newBody is the body of a GetObject that survives a broken transfer: when
// a read fails with a connection reset, a truncated body or an idle
// timeout, it GETs the rest again, from the offset reached, with If-Match
// on the first response's ETag so two versions of the object are never
// mixed. It fetches the body at most MaxAttempts times in all.
func (s *s3Store) newBody(ctx context.Context, key string, off, n int64, out *s3.GetObjectOutput) *transfer.Body {
	want := int64(-1)
	if out.ContentLength != nil && *out.ContentLength >= 0 {
		want = *out.ContentLength
	}
	etag := aws.ToString(out.ETag)
	return transfer.NewBody(ctx, out.Body, transfer.Resume{
		Loc: s.Location(key), Off: off, N: n, Want: want, Version: etag,
		MaxAttempts: s.opts.MaxAttempts,
		Endpoint:    "the S3 endpoint",
		Resumable:   resumable,
		Describe:    describeBreak,
		Backoff: func(fetches int, cause error) time.Duration {
			delay, err := s.retryer.RetryDelay(fetches, cause)
			if err != nil {
				return 0
			}
			return delay
		},
		Fetch: func(ctx context.Context, start, n int64, why string) (io.ReadCloser, error) {
			return s.resume(ctx, key, etag, start, n, why)
		},
	})
}

// describeBreak says how a transfer broke for the bounds the S3 client
// enforces itself (an idle or a slow body), or "".
func describeBreak(cause error, got int64) string {
	var idle *awshttp.ResponseTimeoutError
	var slow *slowBodyError
	switch {
	case errors.As(cause, &idle):
		return transfer.NoData(idle.TimeoutDur, got)
	case errors.As(cause, &slow):
		return fmt.Sprintf("the server sent the body too slowly: %v", slow)
	}
	return ""
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

// resume GETs n bytes of key from start on (n < 0: to the end), if its
// ETag is still etag; why says how the last transfer broke.
func (s *s3Store) resume(ctx context.Context, key, etag string, start, n int64, why string) (io.ReadCloser, error) {
	loc := s.Location(key)
	in := &s3.GetObjectInput{
		Bucket:  aws.String(s.bucket),
		Key:     aws.String(s.prefix + key),
		IfMatch: aws.String(etag),
	}
	if n < 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", start)) // even from 0, to get a Content-Range to check
	} else {
		in.Range = aws.String(transfer.RangeHeader(start, n))
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		var re *awshttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusPreconditionFailed {
			return nil, fmt.Errorf("reading %s: the object changed while it was being read (%s); run the command again", loc, why)
		}
		return nil, fmt.Errorf("reading %s: resuming after %s: %w", loc, why, s.errs.wrap(ctx, err))
	}
	// A server that ignores If-Match could send another version of the
	// object, and one that ignores Range the object from its start: check
	// both before appending this body to the bytes already returned.
	if got := aws.ToString(out.ETag); got != etag {
		_ = out.Body.Close()
		return nil, fmt.Errorf("reading %s: the object changed while it was being read (%s; resuming got ETag %s where the read began with %s); run the command again", loc, why, cut(got), cut(etag))
	}
	if err := transfer.CheckResumed(loc, start, aws.ToString(out.ContentRange)); err != nil {
		_ = out.Body.Close()
		return nil, err
	}
	return out.Body, nil
}

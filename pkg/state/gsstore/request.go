package gsstore

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/oauth2"
)

// Backoff bases: the first retry waits up to base, each later one twice as
// long, capped by MaxBackoff, with full jitter. Throttling waits longer, as
// Cloud Storage asks of clients that get 429.
const (
	retryBase    = 100 * time.Millisecond
	throttleBase = time.Second
)

// get sends a GET to u, retrying throttling (429), server errors (5xx)
// and connection errors up to MaxAttempts times. It returns the first
// answer with another status for the caller to check, with the number of
// attempts made; errors are mapped for messages (the context's own error
// when it ended).
func (s *gsStore) get(ctx context.Context, u string, header http.Header) (*http.Response, int, error) {
	var last error
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, attempt - 1, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, attempt, err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		if err := s.authorize(ctx, req); err != nil {
			return nil, attempt, err
		}
		resp, err := s.client.Do(req)
		base := retryBase
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, attempt, ctx.Err()
		case err != nil:
			last = s.errs.transport(err, attempt)
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			last = s.errs.status(resp, objectOp(false), attempt)
			if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
				base = throttleBase
			}
			if d := retryAfter(resp.Header.Get("Retry-After")); d > base {
				base = d
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
			resp.Body.Close()
		default:
			return resp, attempt, nil
		}
		if attempt >= s.opts.MaxAttempts {
			return nil, attempt, last
		}
		if err := sleep(ctx, s.backoff(base, attempt)); err != nil {
			return nil, attempt, err
		}
	}
}

// backoff is the jittered delay before retry attempt+1.
func (s *gsStore) backoff(base time.Duration, attempt int) time.Duration {
	d := min(base<<(attempt-1), s.opts.MaxBackoff)
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// retryAfter parses a Retry-After header given in seconds; 0 when absent
// or not a number of seconds.
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// authorize adds the Authorization header of the store's credentials to
// req. A token fetch runs under the store's own deadlines, and ctx ending
// returns at once.
func (s *gsStore) authorize(ctx context.Context, req *http.Request) error {
	if s.tokens == nil {
		return nil
	}
	type result struct {
		tok *oauth2.Token
		err error
	}
	ch := make(chan result, 1)
	go func() {
		tok, err := s.tokens.Token()
		ch <- result{tok, err}
	}()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case r := <-ch:
		if r.err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return tokenError(r.err, *s.errs.src, s.name)
		}
		if r.tok.AccessToken == "" {
			return tokenError(errors.New("the credentials gave an empty token"), *s.errs.src, s.name)
		}
		r.tok.SetAuthHeader(req)
		return nil
	}
}

package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// s3Client returns the HTTP client of the store's S3 requests: the
// transport of base (the SDK client with the options' deadlines and any CA
// bundle the AWS configuration names), following at most MaxRedirects
// redirects, with every connection under IdleBodyTimeout and every
// response body under MinBodyRate. The AWS SDK's own client follows 307
// and 308 redirects with no limit, so a server that redirects to itself
// would hold a request until the caller's deadline.
func (o Options) s3Client(base aws.HTTPClient) aws.HTTPClient {
	b, ok := base.(*awshttp.BuildableClient)
	if !ok {
		return base // not one New made: keep what the configuration chose
	}
	tr := b.GetTransport()
	dial := tr.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: o.ConnectTimeout}).DialContext
	}
	idle := o.IdleBodyTimeout
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &idleConn{Conn: c, timeout: idle}, nil
	}
	return &boundedClient{
		c:      &http.Client{Transport: tr, CheckRedirect: o.checkRedirect},
		rate:   o.MinBodyRate,
		window: o.IdleBodyTimeout,
	}
}

// idleConn fails a read that gets no byte for timeout, as the SDK's read
// timeout does, with the SDK's error.
type idleConn struct {
	net.Conn
	timeout time.Duration
}

// Read implements io.Reader.
func (c *idleConn) Read(p []byte) (int, error) {
	if err := c.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return n, &awshttp.ResponseTimeoutError{TimeoutDur: c.timeout}
	}
	return n, err
}

// redirectError is a request that was redirected more than MaxRedirects
// times.
type redirectError struct {
	method string
	url    string // the first request's, without its query
	max    int    // MaxRedirects
}

func (e *redirectError) Error() string {
	return fmt.Sprintf("%s %s was redirected more than %d times", e.method, e.url, e.max)
}

// checkRedirect follows what the AWS SDK follows, 307 and 308 (which keep
// the method and body), and no more than MaxRedirects of them. Every other
// redirect is returned as it is: a 301 names the bucket's region.
func (o Options) checkRedirect(r *http.Request, via []*http.Request) error {
	if r.Response == nil || (r.Response.StatusCode != http.StatusTemporaryRedirect && r.Response.StatusCode != http.StatusPermanentRedirect) {
		return http.ErrUseLastResponse
	}
	if len(via) > o.MaxRedirects {
		u := *via[0].URL
		u.RawQuery, u.User = "", nil
		return &redirectError{method: via[0].Method, url: u.String(), max: o.MaxRedirects}
	}
	// As the SDK does: a session token goes to no other host (net/http
	// drops the Authorization header itself).
	if last := via[len(via)-1]; last.URL.Host != r.URL.Host {
		r.Header.Del("X-Amz-Security-Token")
	}
	return nil
}

// boundedClient puts every response body under a minimum rate.
type boundedClient struct {
	c      *http.Client
	rate   int64
	window time.Duration
}

// Do implements aws.HTTPClient.
func (c *boundedClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.c.Do(req)
	if err != nil {
		return resp, err
	}
	resp.Body = &rateBody{rc: resp.Body, rate: c.rate, window: c.window}
	return resp, nil
}

// slowBodyError is a response body that arrived below the minimum rate.
type slowBodyError struct {
	bytes   int64         // bytes received in the window
	waited  time.Duration // time spent waiting for them
	minRate int64         // bytes a second
}

func (e *slowBodyError) Error() string {
	// Whole seconds past one, so that a message is the same from one
	// run to the next.
	d := e.waited.Round(10 * time.Millisecond)
	if d >= time.Second {
		d = d.Round(time.Second)
	}
	return fmt.Sprintf("%d bytes in %s, below the minimum of %s", e.bytes, d, rateString(e.minRate))
}

// Timeout reports true: a slow body is retried as a read timeout is.
func (e *slowBodyError) Timeout() bool { return true }

// rateString says a rate in bytes a second in a few characters.
func rateString(r int64) string {
	if r%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB/s", r>>20)
	}
	if r%1024 == 0 {
		return fmt.Sprintf("%d KiB/s", r/1024)
	}
	return fmt.Sprintf("%d bytes/s", r)
}

// rateBody fails a body that brings fewer than rate × window bytes in a
// window of time spent waiting in Read. Only that waiting counts, so a
// caller that pauses between reads never makes a body slow.
type rateBody struct {
	rc     io.ReadCloser
	rate   int64
	window time.Duration

	waited time.Duration // in Read, in this window
	got    int64         // bytes, in this window
}

// Read implements io.Reader.
func (b *rateBody) Read(p []byte) (int, error) {
	start := time.Now()
	n, err := b.rc.Read(p)
	b.waited += time.Since(start)
	b.got += int64(n)
	if err != nil || b.waited < b.window {
		return n, err
	}
	if float64(b.got) < float64(b.rate)*b.window.Seconds() {
		return n, &slowBodyError{bytes: b.got, waited: b.waited, minRate: b.rate}
	}
	b.waited, b.got = 0, 0
	return n, nil
}

// Close implements io.Closer.
func (b *rateBody) Close() error { return b.rc.Close() }

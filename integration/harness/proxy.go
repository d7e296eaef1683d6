package harness

import (
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Request is one request seen by a RecordingProxy.
type Request struct {
	Method string
	// URI is the request's path and query as the client sent them
	// (r.URL.RequestURI()), e.g. "/bucket?list-type=2&prefix=.pulumi%2F".
	URI string
	// Range is the request's Range header ("" if none), e.g. "bytes=0-65535".
	Range string
	// Start is when the request arrived, End when its answer was sent.
	Start, End time.Time
}

func (r Request) String() string { return r.Method + " " + r.URI }

// RecordingProxy is a loopback reverse proxy that forwards everything to a
// target (normally an S3 gateway) and records each request's method and URI.
// The Host header is passed through unchanged, so AWS SigV4 signatures made
// for the proxy's address still verify at the gateway.
type RecordingProxy struct {
	URL      string // "http://127.0.0.1:<port>"
	HostPort string // "127.0.0.1:<port>"

	// Delay, when set, holds every request that long before it is
	// forwarded: a remote S3's round trip. Set it before the first request.
	Delay time.Duration

	mu       sync.Mutex
	requests []Request
}

// StartRecordingProxy starts a proxy to target (e.g. S3.Endpoint) on a free
// 127.0.0.1 port and registers its shutdown.
func StartRecordingProxy(t testing.TB, target string) *RecordingProxy {
	t.Helper()
	tu, err := url.Parse(target)
	if err != nil {
		t.Fatalf("harness: proxy target %q: %v", target, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("harness: proxy listen: %v", err)
	}
	p := &RecordingProxy{HostPort: ln.Addr().String()}
	p.URL = "http://" + p.HostPort
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(tu)
			pr.Out.Host = pr.In.Host // keep the signed Host header
		},
		ErrorLog: nil,
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req := Request{Method: r.Method, URI: r.URL.RequestURI(), Range: r.Header.Get("Range"), Start: time.Now()}
			p.mu.Lock()
			i := len(p.requests)
			p.requests = append(p.requests, req)
			p.mu.Unlock()
			time.Sleep(p.Delay)
			rp.ServeHTTP(w, r)
			p.mu.Lock()
			if i < len(p.requests) && p.requests[i].Start.Equal(req.Start) {
				p.requests[i].End = time.Now()
			}
			p.mu.Unlock()
		}),
		ReadHeaderTimeout: 30 * time.Second,
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("harness: proxy: %v", err)
		}
	}()
	t.Cleanup(func() { _ = srv.Close() })
	return p
}

// Requests returns a copy of the requests recorded so far, in arrival order.
func (p *RecordingProxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.requests...)
}

// MaxInFlight is the largest number of recorded requests that were being
// served at the same moment.
func (p *RecordingProxy) MaxInFlight() int {
	reqs := p.Requests()
	most := 0
	for _, a := range reqs {
		n := 0
		for _, b := range reqs {
			if !b.Start.After(a.Start) && (b.End.IsZero() || b.End.After(a.Start)) {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

// Methods returns the distinct methods recorded so far.
func (p *RecordingProxy) Methods() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range p.Requests() {
		if !seen[r.Method] {
			seen[r.Method] = true
			out = append(out, r.Method)
		}
	}
	return out
}

// Reset forgets the recorded requests.
func (p *RecordingProxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = nil
}

// AssertReadOnly fails the test unless every recorded request is a GET or
// HEAD (an S3 listing is a GET). It also fails if nothing was recorded, as
// that usually means the client bypassed the proxy.
func (p *RecordingProxy) AssertReadOnly(t testing.TB) {
	t.Helper()
	reqs := p.Requests()
	if len(reqs) == 0 {
		t.Errorf("harness: proxy %s recorded no requests", p.URL)
		return
	}
	var bad []string
	for _, r := range reqs {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			bad = append(bad, r.String())
		}
	}
	if len(bad) > 0 {
		t.Errorf("harness: expected only GET/HEAD requests, got %d others:\n  %s", len(bad), strings.Join(bad, "\n  "))
	}
}

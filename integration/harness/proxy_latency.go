package harness

import (
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

// LatencyProxy is a loopback reverse proxy in front of an S3 gateway that
// waits a fixed delay before forwarding every request, to put a remote S3's
// round trip between a client and a local gateway. Like RecordingProxy it
// passes the Host header through, so SigV4 signatures made for the proxy's
// address verify at the gateway.
//
// The delay is charged once per request, before it is forwarded; opening a
// connection costs nothing extra, so a client that opens a new connection
// per request pays no more here than one that reuses them (on a real
// network it pays a TCP and a TLS handshake).
type LatencyProxy struct {
	URL      string // "http://127.0.0.1:<port>"
	HostPort string // "127.0.0.1:<port>"

	delay    atomic.Int64 // nanoseconds
	requests atomic.Int64
}

// StartLatencyProxy starts a proxy to target (e.g. S3.Endpoint) on a free
// 127.0.0.1 port that delays every request by delay, and registers its
// shutdown.
func StartLatencyProxy(t testing.TB, target string, delay time.Duration) *LatencyProxy {
	t.Helper()
	return startLatencyProxy(t, target, delay, true)
}

// StartLatencyProxyToHost is StartLatencyProxy for a server that answers
// by its own address in the Host header (fake-gcs-server serves object
// downloads only to requests for its public host): the forwarded requests
// carry target's host instead of the proxy's.
func StartLatencyProxyToHost(t testing.TB, target string, delay time.Duration) *LatencyProxy {
	t.Helper()
	return startLatencyProxy(t, target, delay, false)
}

func startLatencyProxy(t testing.TB, target string, delay time.Duration, keepHost bool) *LatencyProxy {
	t.Helper()
	tu, err := url.Parse(target)
	if err != nil {
		t.Fatalf("harness: latency proxy target %q: %v", target, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("harness: latency proxy listen: %v", err)
	}
	p := &LatencyProxy{HostPort: ln.Addr().String()}
	p.URL = "http://" + p.HostPort
	p.SetDelay(delay)
	// Keep enough idle connections to the gateway for a client running 128
	// requests at once, so the proxy's own connection churn stays out of
	// the figures (http.DefaultTransport keeps 2 per host).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 512
	tr.MaxIdleConnsPerHost = 512
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(tu)
			if keepHost {
				pr.Out.Host = pr.In.Host // keep the signed Host header
			}
		},
		Transport: tr,
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.requests.Add(1)
			if d := time.Duration(p.delay.Load()); d > 0 {
				timer := time.NewTimer(d)
				select {
				case <-timer.C:
				case <-r.Context().Done():
					timer.Stop()
					return
				}
			}
			rp.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 30 * time.Second,
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("harness: latency proxy: %v", err)
		}
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		tr.CloseIdleConnections()
	})
	return p
}

// SetDelay changes the delay for the requests that arrive from now on.
func (p *LatencyProxy) SetDelay(d time.Duration) { p.delay.Store(int64(d)) }

// Delay is the current delay.
func (p *LatencyProxy) Delay() time.Duration { return time.Duration(p.delay.Load()) }

// Requests is how many requests the proxy has received so far.
func (p *LatencyProxy) Requests() int64 { return p.requests.Load() }

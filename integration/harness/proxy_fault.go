package harness

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault is what a FaultProxy does to a request instead of forwarding it
// untouched.
type Fault int

// The faults a FaultProxy injects.
const (
	// FaultNone forwards the request.
	FaultNone Fault = iota
	// FaultSlowDown answers 503 with S3's SlowDown (throttling) error.
	FaultSlowDown
	// FaultInternal answers 500 with S3's InternalError.
	FaultInternal
	// FaultForbidden answers 403 with S3's AccessDenied.
	FaultForbidden
	// FaultReset forwards the request, sends the response headers and the
	// first half of the body, then resets the connection (TCP RST).
	FaultReset
	// FaultTruncate forwards the request, sends the response headers (with
	// the full Content-Length) and the first half of the body, then closes
	// the connection.
	FaultTruncate
	// FaultHang accepts the request and never answers, until the proxy
	// shuts down.
	FaultHang
	// FaultTooManyRequests answers 429 with a TooManyRequests error.
	FaultTooManyRequests
	// FaultExpiredToken answers 400 with S3's ExpiredToken, as S3 does
	// for a request signed with an expired session token.
	FaultExpiredToken
	// FaultRedirectLoop answers 307 with the request's own URL as the
	// Location.
	FaultRedirectLoop
	// FaultRepeatToken applies to listings only: it forwards the first
	// page and answers it as truncated, with a continuation token, and
	// answers every request for a next page with that same page again.
	FaultRepeatToken
	// FaultNoToken applies to listings only: it forwards the listing and
	// answers it as truncated (IsTruncated true) with no continuation
	// token.
	FaultNoToken
	// FaultTrickle forwards the request, then sends the response headers
	// and the body one byte a second.
	FaultTrickle
	// FaultETagChange breaks a GET as FaultTruncate does; a GET with
	// If-Match (a resume) is forwarded and answered with another ETag, as
	// a server would that ignores If-Match for an object replaced since.
	FaultETagChange
)

var faultNames = [...]string{"none", "503 SlowDown", "500 InternalError", "403 AccessDenied", "reset mid-body", "truncated body", "hang",
	"429 TooManyRequests", "400 ExpiredToken", "307 to itself", "repeated continuation token", "truncated listing without a token",
	"body trickling a byte a second", "ETag changed on resume"}

func (f Fault) String() string {
	if int(f) < len(faultNames) {
		return faultNames[f]
	}
	return "fault(" + strconv.Itoa(int(f)) + ")"
}

// FaultRule selects requests and the fault to inject into them.
type FaultRule struct {
	// Method matches the request method; "" matches any.
	Method string
	// Path is a substring the request's path must contain, e.g. ".json"
	// for checkpoint GETs or "/meta.yaml"; "" matches any.
	Path string
	// First applies the fault to the first First requests the rule
	// matches (so the retries after them get through); 0 applies it to
	// every match.
	First int
	// Fault is what to do.
	Fault Fault
}

// FaultRequest is one request seen by a FaultProxy and the fault it got.
type FaultRequest struct {
	Request
	// IfMatch is the request's If-Match header ("" if none).
	IfMatch string
	Fault   Fault
}

// FaultProxy is a loopback reverse proxy in front of an S3 gateway that
// injects faults into the requests its rules select, and records every
// request. Like RecordingProxy it passes the Host header through, so SigV4
// signatures made for the proxy's address verify at the gateway.
type FaultProxy struct {
	URL      string // "http://127.0.0.1:<port>"
	HostPort string // "127.0.0.1:<port>"

	target *url.URL
	rp     *httputil.ReverseProxy
	done   chan struct{} // closed at shutdown: releases hung requests

	mu       sync.Mutex
	rules    []FaultRule
	matched  []int // per rule: requests it matched so far
	requests []FaultRequest
	page     []byte // the listing page FaultRepeatToken answers again
}

// StartFaultProxy starts a fault-injecting proxy to target (e.g.
// S3.Endpoint) on a free 127.0.0.1 port with rules, and registers its
// shutdown. The first rule that matches a request (and has faults left)
// decides its fault.
func StartFaultProxy(t testing.TB, target string, rules ...FaultRule) *FaultProxy {
	t.Helper()
	tu, err := url.Parse(target)
	if err != nil {
		t.Fatalf("harness: fault proxy target %q: %v", target, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("harness: fault proxy listen: %v", err)
	}
	p := &FaultProxy{HostPort: ln.Addr().String(), target: tu, done: make(chan struct{})}
	p.URL = "http://" + p.HostPort
	p.rp = &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(tu)
		pr.Out.Host = pr.In.Host // keep the signed Host header
	}}
	p.SetRules(rules...)
	srv := &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 30 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("harness: fault proxy: %v", err)
		}
	}()
	t.Cleanup(func() {
		close(p.done)
		_ = srv.Close()
	})
	return p
}

// SetRules replaces the rules and restarts their counts; it also forgets
// the recorded requests.
func (p *FaultProxy) SetRules(rules ...FaultRule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append([]FaultRule(nil), rules...)
	p.matched = make([]int, len(rules))
	p.requests = nil
	p.page = nil
}

// Requests returns a copy of the requests recorded so far, in arrival
// order.
func (p *FaultProxy) Requests() []FaultRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]FaultRequest(nil), p.requests...)
}

// Faulted returns how many recorded requests got fault f.
func (p *FaultProxy) Faulted(f Fault) int {
	n := 0
	for _, r := range p.Requests() {
		if r.Fault == f {
			n++
		}
	}
	return n
}

// pick records r and returns its fault.
func (p *FaultProxy) pick(r *http.Request) Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	fault := FaultNone
	for i, rule := range p.rules {
		if (rule.Method != "" && rule.Method != r.Method) || !strings.Contains(r.URL.Path, rule.Path) {
			continue
		}
		if rule.First > 0 && p.matched[i] >= rule.First {
			continue
		}
		if rule.Fault.listingsOnly() && !isListing(r) {
			continue
		}
		p.matched[i]++
		fault = rule.Fault
		break
	}
	p.requests = append(p.requests, FaultRequest{
		Request: Request{Method: r.Method, URI: r.URL.RequestURI(), Range: r.Header.Get("Range")},
		IfMatch: r.Header.Get("If-Match"),
		Fault:   fault,
	})
	return fault
}

func (p *FaultProxy) serve(w http.ResponseWriter, r *http.Request) {
	switch f := p.pick(r); f {
	case FaultNone:
		p.rp.ServeHTTP(w, r)
	case FaultSlowDown:
		s3ErrorResponse(w, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
	case FaultInternal:
		s3ErrorResponse(w, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
	case FaultForbidden:
		s3ErrorResponse(w, http.StatusForbidden, "AccessDenied", "Access Denied")
	case FaultHang:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		<-p.done
		_ = conn.Close()
	case FaultReset, FaultTruncate:
		p.breakBody(w, r, f)
	case FaultTooManyRequests:
		s3ErrorResponse(w, http.StatusTooManyRequests, "TooManyRequests", "Please reduce your request rate.")
	case FaultExpiredToken:
		s3ErrorResponse(w, http.StatusBadRequest, "ExpiredToken", "The provided token has expired.")
	case FaultRedirectLoop:
		w.Header().Set("Location", "http://"+r.Host+r.URL.RequestURI())
		w.WriteHeader(http.StatusTemporaryRedirect)
	case FaultRepeatToken, FaultNoToken:
		p.rewriteListing(w, r, f)
	case FaultTrickle:
		p.trickle(w, r)
	case FaultETagChange:
		if r.Header.Get("If-Match") == "" {
			p.breakBody(w, r, FaultTruncate)
			return
		}
		p.changeETag(w, r)
	}
}

// breakBody forwards r, then sends the client the response headers and
// half of the body before breaking the connection.
func (p *FaultProxy) breakBody(w http.ResponseWriter, r *http.Request, f Fault) {
	resp, body, ok := p.forward(w, r)
	if !ok {
		return
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	resp.Header.Del("Transfer-Encoding")
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Set("Connection", "close")
	writeHead(rw, resp)
	_, _ = rw.Write(body[:len(body)/2])
	_ = rw.Flush()
	if tc, ok := conn.(*net.TCPConn); ok && f == FaultReset {
		// Let the client read the half body before the RST discards it.
		time.Sleep(100 * time.Millisecond)
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// forward sends r to the target as it came (so its signature still
// verifies) and reads the whole answer; on failure it answers 502 itself
// and returns false.
func (p *FaultProxy) forward(w http.ResponseWriter, r *http.Request) (*http.Response, []byte, bool) {
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host = p.target.Scheme, p.target.Host
	out.RequestURI = ""
	out.Host = r.Host
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return nil, nil, false
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return nil, nil, false
	}
	return resp, body, true
}

func writeHead(w *bufio.ReadWriter, resp *http.Response) {
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode))
	_ = resp.Header.Write(w)
	_, _ = w.WriteString("\r\n")
}

// s3ErrorResponse answers with an S3 error document.
func s3ErrorResponse(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("X-Amz-Request-Id", "faultproxy")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Error><Code>%s</Code><Message>%s</Message><RequestId>faultproxy</RequestId></Error>`, code, msg)
}

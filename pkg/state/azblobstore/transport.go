package azblobstore

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// clientOptions returns the SDK client options that enforce the deadlines
// and the retry bounds of o (with its defaults filled).
func (o Options) clientOptions() *container.ClientOptions {
	retries := int32(o.MaxAttempts - 1)
	if retries == 0 {
		retries = -1 // azcore reads 0 as its default of 3
	}
	return &container.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: &http.Client{Transport: o.transport()},
		Retry: policy.RetryOptions{
			MaxRetries:    retries,
			RetryDelay:    min(defaultRetryDelay, o.MaxBackoff),
			MaxRetryDelay: o.MaxBackoff,
		},
		Telemetry:        policy.TelemetryOptions{ApplicationID: "stacksync"},
		PerRetryPolicies: []policy.Policy{countTries{}},
	}}
}

// transport returns an HTTP transport with the connect, handshake,
// response-header and idle-body deadlines.
func (o Options) transport() *http.Transport {
	d := &net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second}
	idle := o.IdleBodyTimeout
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &idleConn{Conn: c, idle: idle, afterWrite: max(idle, o.ResponseHeaderTimeout)}, nil
		},
		TLSHandshakeTimeout:   o.TLSHandshakeTimeout,
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
	}
}

// idleConn is a connection whose reads fail after idle without a byte: each
// read gets a fresh deadline, so a slow but moving transfer never trips it,
// and a write pushes back the deadline of a read already waiting (the
// transport's own read of a pooled connection) past the response-header
// deadline.
type idleConn struct {
	net.Conn
	idle, afterWrite time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.afterWrite))
	return c.Conn.Write(p)
}

// triesKey is the context key of a call's attempt counter.
type triesKey struct{}

// withTries returns ctx carrying a counter of the attempts made under it.
func withTries(ctx context.Context) (context.Context, *atomic.Int32) {
	n := new(atomic.Int32)
	return context.WithValue(ctx, triesKey{}, n), n
}

// countTries is a per-attempt policy that counts the attempts of a call
// made under withTries, for messages.
type countTries struct{}

func (countTries) Do(req *policy.Request) (*http.Response, error) {
	if n, ok := req.Raw().Context().Value(triesKey{}).(*atomic.Int32); ok {
		n.Add(1)
	}
	return req.Next()
}

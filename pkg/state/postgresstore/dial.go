package postgresstore

import (
	"context"
	"net"
	"sync"
	"time"
)

// dialer opens the store's connections: the context bounds the dial, and
// every read of a connection waits at most readTimeout, so a server that
// stops answering mid-query fails the query even where lib/pq's own
// cancellation, a request sent over a second connection to the same
// server, cannot get through.
type dialer struct {
	net         net.Dialer
	readTimeout time.Duration
}

// Dial implements pq.Dialer.
func (d *dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialTimeout implements pq.Dialer.
func (d *dialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

// DialContext implements pq.DialerContext.
func (d *dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := d.net.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &deadlineConn{Conn: c, readTimeout: d.readTimeout}, nil
}

// deadlineConn is a connection whose every Read waits at most
// readTimeout, or until the deadline lib/pq set (connect_timeout during
// the start-up) if that is sooner.
type deadlineConn struct {
	net.Conn
	readTimeout time.Duration

	mu  sync.Mutex
	set time.Time // the read deadline lib/pq asked for; zero: none
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	d := time.Now().Add(c.readTimeout)
	if !c.set.IsZero() && c.set.Before(d) {
		d = c.set
	}
	c.mu.Unlock()
	if err := c.Conn.SetReadDeadline(d); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.set = t
	c.mu.Unlock()
	return c.Conn.SetDeadline(t)
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.set = t
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

// sqlDialer is the TCP dialer of the store's connections.
func sqlDialer(timeout time.Duration) net.Dialer {
	return net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
}

package postgresstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
)

// connector is lib/pq's connector with a context that really bounds each
// connection: while a connection is being set up, and while a query runs
// on it (see pgStore.do), the end of the context closes its socket. lib/pq
// alone only sends the server a cancel request, over a second connection,
// which a hung server never answers; and it sets up a connection under
// connect_timeout whatever the context says.
type connector struct {
	pq  *pq.Connector
	net net.Dialer

	mu    sync.Mutex
	socks map[driver.Conn]*socket // the socket of each open connection
}

// newConnector returns a connector over pq that dials with d.
func newConnector(pc *pq.Connector, d net.Dialer) *connector {
	c := &connector{pq: pc, net: d, socks: map[driver.Conn]*socket{}}
	pc.Dialer(c)
	return c
}

// dialedKey is the context key of the *dialing a Connect call waits on.
type dialedKey struct{}

// dialing is the socket one Connect call is setting up a connection on.
type dialing struct {
	mu      sync.Mutex
	sock    *socket
	aborted bool
}

// abort closes the socket, now or as soon as it is dialed.
func (d *dialing) abort() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.aborted = true
	if d.sock != nil {
		d.sock.Close()
	}
}

func (d *dialing) set(s *socket) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sock = s
	if d.aborted {
		s.Close()
	}
}

// Connect implements driver.Connector.
func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	d := &dialing{}
	stop := context.AfterFunc(ctx, d.abort)
	conn, err := c.pq.Connect(context.WithValue(ctx, dialedKey{}, d))
	stop()
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	s := d.sock
	d.mu.Unlock()
	if s != nil {
		c.mu.Lock()
		c.socks[conn] = s
		c.mu.Unlock()
		s.forget = func() {
			c.mu.Lock()
			delete(c.socks, conn)
			c.mu.Unlock()
		}
	}
	return conn, nil
}

// Driver implements driver.Connector.
func (c *connector) Driver() driver.Driver { return c.pq.Driver() }

// socketOf returns the socket of a connection lib/pq returned, or nil.
func (c *connector) socketOf(conn any) *socket {
	dc, ok := conn.(driver.Conn)
	if !ok {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.socks[dc]
}

// Dial implements pq.Dialer.
func (c *connector) Dial(network, address string) (net.Conn, error) {
	return c.DialContext(context.Background(), network, address)
}

// DialTimeout implements pq.Dialer.
func (c *connector) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.DialContext(ctx, network, address)
}

// DialContext implements pq.DialerContext. A dial made for Connect hands
// its socket to that call.
func (c *connector) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	nc, err := c.net.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	s := &socket{Conn: nc}
	if d, ok := ctx.Value(dialedKey{}).(*dialing); ok {
		d.set(s)
	}
	return s, nil
}

// socket is a connection's network connection, which forgets itself
// when closed.
type socket struct {
	net.Conn
	once   sync.Once
	forget func()
	closed atomic.Bool
}

// Close implements net.Conn.
func (s *socket) Close() error {
	s.closed.Store(true)
	err := s.Conn.Close()
	s.once.Do(func() {
		if s.forget != nil {
			s.forget()
		}
	})
	return err
}

// release gives c back to the pool, unless its socket was closed under
// it: then lib/pq may not know yet, and the pool must drop it.
func release(c *sql.Conn, sock *socket) {
	if sock != nil && sock.closed.Load() {
		_ = c.Raw(func(any) error { return driver.ErrBadConn })
	}
	c.Close()
}

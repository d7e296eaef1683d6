package harness

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TCPLatencyProxy is a loopback TCP proxy that holds every chunk of bytes a
// client sends for a fixed delay before passing it to the server, for
// protocols that are not HTTP (PostgreSQL's). Chunks keep their order and
// are held together, not one after the other, so a client that sends
// several messages before it waits for an answer pays the delay once, as
// on a network with that one-way latency. The server's answers pass
// straight through. Opening a connection costs nothing extra; the
// client's first message on it (PostgreSQL's startup) pays the delay.
type TCPLatencyProxy struct {
	HostPort string // "127.0.0.1:<port>"

	delay  time.Duration
	chunks atomic.Int64
}

// StartTCPLatencyProxy starts a proxy to target ("host:port") on a free
// 127.0.0.1 port that delays what clients send by delay, and registers
// its shutdown.
func StartTCPLatencyProxy(t testing.TB, target string, delay time.Duration) *TCPLatencyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("harness: TCP latency proxy listen: %v", err)
	}
	p := &TCPLatencyProxy{HostPort: ln.Addr().String(), delay: delay}
	var (
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
		wg    sync.WaitGroup
	)
	track := func(c net.Conn, add bool) {
		mu.Lock()
		defer mu.Unlock()
		if add {
			conns[c] = true
		} else {
			delete(conns, c)
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("harness: TCP latency proxy accept: %v", err)
				}
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				_ = client.Close()
				continue
			}
			track(client, true)
			track(server, true)
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.pipe(client, server)
				track(client, false)
				track(server, false)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return p
}

// chunk is bytes a client sent and when they arrived.
type chunk struct {
	b  []byte
	at time.Time
}

// pipe carries one connection until either side closes it.
func (p *TCPLatencyProxy) pipe(client, server net.Conn) {
	defer client.Close()
	defer server.Close()
	queue := make(chan chunk, 1024)
	done := make(chan struct{}, 2)
	// Client to queue: stamp each read. The queue closes when the client
	// stops sending.
	go func() {
		defer close(queue)
		for {
			buf := make([]byte, 64<<10)
			n, err := client.Read(buf)
			if n > 0 {
				p.chunks.Add(1)
				queue <- chunk{buf[:n], time.Now()}
			}
			if err != nil {
				return
			}
		}
	}()
	// Queue to server: each chunk delay after it arrived. After a failed
	// write it drains the queue, so the reader never blocks on it.
	go func() {
		defer func() { done <- struct{}{} }()
		failed := false
		for c := range queue {
			if failed {
				continue
			}
			if wait := time.Until(c.at.Add(p.delay)); wait > 0 {
				time.Sleep(wait)
			}
			if _, err := server.Write(c.b); err != nil {
				failed = true
			}
		}
	}()
	// Server to client, straight.
	go func() {
		defer func() { done <- struct{}{} }()
		_, _ = io.Copy(client, server)
	}()
	<-done // one direction ended: closing both ends the other
	client.Close()
	server.Close()
	<-done
}

// Chunks is how many chunks of client bytes the proxy has received.
func (p *TCPLatencyProxy) Chunks() int64 { return p.chunks.Load() }

package harness

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("harness: finding a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// lockedBuffer is an io.Writer safe for concurrent use, for child output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is a started child server.
type process struct {
	cmd    *exec.Cmd
	output *lockedBuffer
	done   chan struct{}
	err    error // valid after done is closed
}

// startProcess starts cmd with its output captured, and registers a cleanup
// that kills it and waits for it to exit. The output is logged if the test
// failed.
func startProcess(t testing.TB, name string, cmd *exec.Cmd) *process {
	t.Helper()
	p := &process{cmd: cmd, output: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout = p.output
	cmd.Stderr = p.output
	setPdeathsig(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("harness: starting %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			t.Errorf("harness: %s (pid %d) did not exit after kill", name, cmd.Process.Pid)
		}
		if t.Failed() {
			t.Logf("harness: %s output:\n%s", name, p.output.String())
		}
	})
	return p
}

// exited reports whether the process has exited, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// waitFor polls ready until it returns nil, the process exits, or timeout
// passes.
func (p *process) waitFor(name string, timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if ok, err := p.exited(); ok {
			return fmt.Errorf("%s exited before becoming ready (%v); output:\n%s", name, err, p.output.String())
		}
		if last = ready(); last == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s: %v; output:\n%s", name, timeout, last, p.output.String())
}

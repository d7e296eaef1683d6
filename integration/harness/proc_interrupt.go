package harness

import (
	"os"
	"time"
)

// interrupt asks the process to stop with SIGINT (for postgres, a fast
// shutdown that removes its shared memory and lock files) and kills it if
// it has not exited after grace. It returns once the process has exited,
// or 30 seconds after the kill (startProcess's cleanup reports that).
func (p *process) interrupt(grace time.Duration) {
	if ok, _ := p.exited(); ok {
		return
	}
	if grace > 0 && p.cmd.Process.Signal(os.Interrupt) == nil {
		select {
		case <-p.done:
			return
		case <-time.After(grace):
		}
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
	}
}

package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress reports an audit's progress on stderr when stderr is a terminal,
// NO_COLOR is unset, and there are more than 50 stacks.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	enabled bool
	start   time.Time
	last    time.Time
	shown   bool
}

// newProgress enables progress when stderr is a character device, which a
// terminal is (so is /dev/null, where the output is harmlessly lost; telling
// them apart needs an ioctl per platform, not worth a dependency).
func newProgress(e *env) *progress {
	p := &progress{w: e.stderr, start: time.Now()}
	if f, ok := e.stderr.(*os.File); ok && e.getenv("NO_COLOR") == "" {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.enabled = true
		}
	}
	return p
}

func (p *progress) update(done, total int) {
	if !p.enabled || total <= 50 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && done < total {
		return
	}
	p.last, p.shown = now, true
	rate := float64(done) / now.Sub(p.start).Seconds()
	fmt.Fprintf(p.w, "\r%d/%d stacks, %.0f stacks/s ", done, total, rate)
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

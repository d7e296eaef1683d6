package state

import (
	"context"
	"sync"
)

// MemoryBudget bounds the memory that concurrent checkpoint decodes hold
// at once. Most decodes need a fixed few tens of kilobytes and take
// nothing from it; a zstd decode needs its window, up to MaxZstdWindow,
// and waits for it here. The zero value and a nil budget do not limit.
type MemoryBudget struct {
	total int64
	mu    sync.Mutex
	used  int64
	wake  chan struct{} // closed and replaced on each release
}

// NewMemoryBudget returns a budget of n bytes; n is raised to what one
// decode may need, so a single decode never waits forever.
func NewMemoryBudget(n int64) *MemoryBudget {
	return &MemoryBudget{total: max(n, MaxZstdWindow+zstdOverhead), wake: make(chan struct{})}
}

// DefaultDecodeMemory is the budget a Backend gives its decodes: room for
// two zstd windows at once: decompressing is CPU-bound, and each window
// held costs its size again in garbage-collector headroom.
const DefaultDecodeMemory = 2 * (MaxZstdWindow + zstdOverhead)

// acquire waits until n bytes are free, or ctx is done.
func (m *MemoryBudget) acquire(ctx context.Context, n int64) error {
	if m == nil || m.total == 0 {
		return nil
	}
	n = min(n, m.total)
	for {
		m.mu.Lock()
		if m.used+n <= m.total {
			m.used += n
			m.mu.Unlock()
			return nil
		}
		wake := m.wake
		m.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release gives back what acquire took.
func (m *MemoryBudget) release(n int64) {
	if m == nil || m.total == 0 {
		return
	}
	n = min(n, m.total)
	m.mu.Lock()
	m.used -= n
	close(m.wake)
	m.wake = make(chan struct{})
	m.mu.Unlock()
}

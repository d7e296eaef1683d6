package state

import (
	"context"

	"github.com/klauspost/compress/zstd"
)

// decoderPool lends zstd decoders to concurrent checkpoint decodes. A zstd
// decoder holds its window, up to MaxZstdWindow, and keeps it from one
// checkpoint to the next: a pool of n decoders bounds a backend's decode
// memory at n windows, whatever the concurrency, and spares the garbage
// collector a fresh window per checkpoint (which, with sixteen reads at
// once, let the heap double past the windows in use). Other decodes need
// a fixed few tens of kilobytes and take nothing from it.
type decoderPool struct {
	free  chan *zstd.Decoder
	slots chan struct{} // one token per decoder not made yet
}

// DefaultZstdDecoders is how many zstd decoders a Backend lends at once.
// Decompressing is CPU-bound, so two match two cores; each holds up to an
// 8 MiB window.
const DefaultZstdDecoders = 2

// newDecoderPool returns a pool of at most n decoders, made as needed.
func newDecoderPool(n int) *decoderPool {
	n = max(n, 1)
	p := &decoderPool{free: make(chan *zstd.Decoder, n), slots: make(chan struct{}, n)}
	for range n {
		p.slots <- struct{}{}
	}
	return p
}

// get lends a decoder, making one if the pool has room, else waiting for
// one to come back or ctx to end. A nil pool makes a decoder each time.
func (p *decoderPool) get(ctx context.Context) (*zstd.Decoder, error) {
	if p == nil {
		return newZstdDecoder()
	}
	select {
	case d := <-p.free:
		return d, nil
	default:
	}
	select {
	case d := <-p.free:
		return d, nil
	case <-p.slots:
		d, err := newZstdDecoder()
		if err != nil {
			p.slots <- struct{}{}
		}
		return d, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// put takes a decoder back.
func (p *decoderPool) put(d *zstd.Decoder) {
	if p == nil {
		d.Close()
		return
	}
	d.Reset(nil)
	p.free <- d
}

// newZstdDecoder makes a synchronous, low-memory decoder that refuses any
// frame whose window is above MaxZstdWindow.
func newZstdDecoder() (*zstd.Decoder, error) {
	return zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(MaxZstdWindow),
		zstd.WithDecoderMaxMemory(MaxZstdWindow),
	)
}

package state

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/stacksync/stacksync/pkg/state/storetest"
)

// bigTokenReader streams a checkpoint whose resources hold one string of n
// bytes before secrets_providers, without holding it in memory.
type bigTokenReader struct {
	head, tail string
	n          int64
	off        int64
}

func newBigToken(n int64, sp string) *bigTokenReader {
	return &bigTokenReader{
		head: `{"version":3,"checkpoint":{"stack":"organization/demo/dev","latest":{"resources":["`,
		tail: `"],"secrets_providers":` + sp + `}}}`,
		n:    n,
	}
}

func (r *bigTokenReader) Read(p []byte) (int, error) {
	total := int64(len(r.head)) + r.n + int64(len(r.tail))
	if r.off >= total {
		return 0, io.EOF
	}
	i := 0
	for i < len(p) && r.off < total {
		switch {
		case r.off < int64(len(r.head)):
			p[i] = r.head[r.off]
		case r.off < int64(len(r.head))+r.n:
			p[i] = 'x'
		default:
			p[i] = r.tail[r.off-int64(len(r.head))-r.n]
		}
		i++
		r.off++
	}
	return i, nil
}

// allocated runs f and returns the bytes it allocated on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestDecodeHeadBigTokenConstantMemory: a 100 MB string before the
// provider (issue row 2: 340 MB per stack before) is read past in constant
// memory, and the provider after it is found.
func TestDecodeHeadBigTokenConstantMemory(t *testing.T) {
	var h Head
	var err error
	n := allocated(func() {
		h, err = decodeHead(newBigToken(100<<20, storetest.Passphrase(testSalt)))
	})
	if err != nil || !sameProvider(h.Provider, provPassphrase) {
		t.Fatalf("decodeCheckpoint = %s, %v", provString(h.Provider), err)
	}
	if n > 1<<20 {
		t.Errorf("decoding a 100 MB token allocated %d bytes, want under 1 MiB", n)
	}
}

// bombBytes compresses a checkpoint holding one n-byte string.
func bombBytes(t *testing.T, compression string, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch compression {
	case CompressionGzip:
		w, _ = gzip.NewWriterLevel(&buf, gzip.BestCompression)
	default:
		zw, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
		if err != nil {
			t.Fatal(err)
		}
		w = zw
	}
	if _, err := io.Copy(w, newBigToken(n, storetest.Passphrase(testSalt))); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDecodeHeadBomb: a small compressed object that decodes to more than
// the limit (issue row 1) fails with ErrTooLarge, having decoded no more
// than the limit, in bounded memory.
func TestDecodeHeadBomb(t *testing.T) {
	for _, c := range []string{CompressionGzip, CompressionZstd} {
		t.Run(c, func(t *testing.T) {
			bomb := bombBytes(t, c, 64<<20)
			var h Head
			var err error
			n := allocated(func() {
				h, err = decodeCheckpoint(context.Background(), bytes.NewReader(bomb), decodeOptions{MaxSize: 16 << 20})
			})
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("decodeCheckpoint of a %d-byte %s bomb = %v, want ErrTooLarge", len(bomb), c, err)
			}
			if !strings.Contains(err.Error(), "decompression bomb") {
				t.Errorf("error %q does not say what it looks like", err)
			}
			if h.Size > 16<<20 {
				t.Errorf("decoded %d bytes past a 16 MiB limit", h.Size)
			}
			if n > 24<<20 {
				t.Errorf("decoding the bomb allocated %d bytes", n)
			}
			// Under the limit, the same object decodes.
			h, err = decodeCheckpoint(context.Background(), bytes.NewReader(bomb), decodeOptions{MaxSize: 128 << 20})
			if err != nil || !sameProvider(h.Provider, provPassphrase) {
				t.Errorf("decodeCheckpoint with room = %s, %v", provString(h.Provider), err)
			}
		})
	}
}

// TestDecodeHeadZstdWindow: a zstd frame that needs a window above
// MaxZstdWindow is refused before decoding; pulumi's encoder never writes
// one.
func TestDecodeHeadZstdWindow(t *testing.T) {
	data := storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt), ResourceBytes: 9 << 20}.Build()
	enc, err := zstd.NewWriter(nil, zstd.WithWindowSize(16<<20), zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	big := enc.EncodeAll(data, nil) // single segment: the window is the whole 9 MB
	if _, err := decodeHead(bytes.NewReader(big)); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "window") {
		t.Errorf("decodeCheckpoint of a 16 MiB-window frame = %v, want ErrTooLarge naming the window", err)
	}
	// The default encoder, as pulumi uses it, stays within the limit.
	if h, err := decodeHead(bytes.NewReader(storetest.Zstd(t, data))); err != nil || !sameProvider(h.Provider, provPassphrase) {
		t.Errorf("decodeCheckpoint of a default-encoder frame = %v", err)
	}
}

// cancelAfter cancels its context once n bytes have been read through it.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= int64(n); c.n <= 0 {
		c.cancel()
	}
	return n, err
}

// TestDecodeHeadCancel: decoding honours the context (issue row 1: Ctrl-C
// did not stop it), within one buffer of input.
func TestDecodeHeadCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &cancelAfter{r: newBigToken(1<<30, storetest.Passphrase(testSalt)), n: 1 << 20, cancel: cancel}
	start := time.Now()
	h, err := decodeCheckpoint(ctx, r, decodeOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("decodeCheckpoint after cancel = %v, want context.Canceled", err)
	}
	if h.Size > 1<<20+scanBufSize {
		t.Errorf("decoded %d bytes after the cancel at 1 MiB", h.Size)
	}
	t.Logf("stopped after %d bytes in %v", h.Size, time.Since(start))
}

// TestDecodeHeadDepth: nesting deeper than encoding/json's limit is refused
// as it is by pulumi, without exhausting the stack.
func TestDecodeHeadDepth(t *testing.T) {
	for _, d := range []int{maxJSONDepth - 3, maxJSONDepth + 1, 1 << 20} {
		in := `{"version":3,"checkpoint":{"latest":{"secrets_providers":` + storetest.Passphrase(testSalt) + `,"x":` +
			strings.Repeat("[", d) + strings.Repeat("]", d) + `}}}`
		_, err := decodeHead(strings.NewReader(in))
		if ok := d+3 <= maxJSONDepth; ok != (err == nil) {
			t.Errorf("depth %d: decodeCheckpoint = %v", d, err)
		}
	}
}

// TestDecoderPool: the pool makes at most n decoders, lends a returned one
// again, and a borrower waits for one to come back or for its context.
func TestDecoderPool(t *testing.T) {
	p := newDecoderPool(1)
	ctx := context.Background()
	d, err := p.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := p.get(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("get from an empty pool = %v, want to wait and time out", err)
	}
	got := make(chan error)
	go func() {
		d2, err := p.get(ctx)
		if err == nil && d2 != d {
			err = errors.New("a second decoder was made")
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("get did not wait for the decoder to come back: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	p.put(d)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	var nilPool *decoderPool
	d3, err := nilPool.get(ctx)
	if err != nil {
		t.Fatalf("a nil pool: %v", err)
	}
	nilPool.put(d3)
}

// TestReadHeadConcurrentZstd: sixteen zstd decodes at once, over two
// pooled decoders, all decode, and the decoders come back.
func TestReadHeadConcurrentZstd(t *testing.T) {
	bomb := bombBytes(t, CompressionZstd, 32<<20)
	mem := storetest.NewMem()
	for i := range 16 {
		mem.Put(".pulumi/stacks/demo/s"+string(rune('a'+i))+".json.zst", bomb, t0)
	}
	mem.Put(".pulumi/meta.yaml", []byte("version: 1\n"), t0)
	b := newBackend(nil, mem)
	reports, err := auditViews(context.Background(), b, AuditOptions{Jobs: 16})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		if r.Provider != "passphrase" {
			t.Errorf("%s: %s %s", r.Stack, r.Provider, r.Error)
		}
	}
	if n := len(b.decoders.free); n != DefaultZstdDecoders {
		t.Errorf("%d decoders back in the pool, want %d", n, DefaultZstdDecoders)
	}
}

package state

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// Compression of a checkpoint, found from its magic bytes.
const (
	CompressionNone = "none"
	CompressionGzip = "gzip"
	CompressionZstd = "zstd"
)

var (
	gzipMagic = []byte{0x1f, 0x8b, 0x08}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// MaxZstdWindow is the largest zstd window decodeCheckpoint accepts. Pulumi
// compresses with klauspost/compress's default encoder, whose window is 8
// MiB; the window is what a zstd decoder must hold in memory.
const MaxZstdWindow = 8 << 20

// decompress sniffs the compression of src from its magic bytes and
// returns a reader of the decompressed bytes, the compression, and a
// release to call once the reader is done with. When the magic bytes
// cannot be read, the compression is empty.
func decompress(ctx context.Context, src *sourceReader, pool *decoderPool) (in io.Reader, compression string, release func(), err error) {
	var magic [4]byte
	n, _ := io.ReadFull(src, magic[:])
	if src.err != nil {
		return nil, "", nil, src.err
	}
	in = io.MultiReader(bytes.NewReader(magic[:n]), src)
	switch {
	case bytes.HasPrefix(magic[:n], gzipMagic):
		zr, err := gzip.NewReader(in)
		if err != nil {
			return nil, CompressionGzip, nil, src.or(fmt.Errorf("%w: gzip: %v", ErrCorrupt, err))
		}
		return zr, CompressionGzip, func() { zr.Close() }, nil
	case bytes.HasPrefix(magic[:n], zstdMagic):
		zr, release, err := newZstdReader(ctx, in, pool)
		if err != nil {
			return nil, CompressionZstd, nil, src.or(err)
		}
		return zr, CompressionZstd, release, nil
	}
	return in, CompressionNone, func() {}, nil
}

// sourceReader remembers the first error of the reader under a
// decompressor, which reports it in its own words.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// or returns the source's error if it had one, else err.
func (s *sourceReader) or(err error) error {
	if s.err != nil {
		return s.err
	}
	return err
}

// newZstdReader checks that the first frame's window is one pulumi could
// have written, then starts a pooled decoder on in.
func newZstdReader(ctx context.Context, in io.Reader, pool *decoderPool) (io.Reader, func(), error) {
	br := newPeekReader(in, zstd.HeaderMaxSize)
	var fh zstd.Header
	if err := fh.Decode(br.peeked()); err != nil {
		return nil, nil, fmt.Errorf("%w: zstd: %v", ErrCorrupt, err)
	}
	window := fh.WindowSize
	if fh.SingleSegment && fh.HasFCS {
		window = fh.FrameContentSize
	}
	if window > MaxZstdWindow {
		return nil, nil, fmt.Errorf("%w: zstd frame needs a %d-byte window, above the %d bytes stacksync allows; this is not how pulumi compresses state", ErrTooLarge, window, MaxZstdWindow)
	}
	d, err := pool.get(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := d.Reset(br); err != nil {
		pool.put(d)
		return nil, nil, fmt.Errorf("%w: zstd: %v", ErrCorrupt, err)
	}
	return d, func() { pool.put(d) }, nil
}

// peekReader lets the zstd header be read before the decoder starts.
type peekReader struct {
	head []byte
	r    io.Reader
}

func newPeekReader(r io.Reader, n int) *peekReader {
	buf := make([]byte, n)
	m, _ := io.ReadFull(r, buf)
	return &peekReader{head: buf[:m], r: r}
}

func (p *peekReader) peeked() []byte { return p.head }

func (p *peekReader) Read(b []byte) (int, error) {
	if len(p.head) > 0 {
		n := copy(b, p.head)
		p.head = p.head[n:]
		return n, nil
	}
	return p.r.Read(b)
}

package state

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Head is what stacksync needs from a checkpoint: its version, the stack
// field and the secrets provider of its latest deployment.
type Head struct {
	// Version is the checkpoint's top-level version (0 when absent).
	Version int
	// Compression is CompressionNone, CompressionGzip or CompressionZstd.
	Compression string
	// Stack is the checkpoint's stack field. It is informational only:
	// stack rename and state upgrade leave the old name in it.
	Stack string
	// HasLatest reports whether the checkpoint has a latest deployment.
	HasLatest bool
	// Provider is the latest deployment's secrets provider, or nil when the
	// checkpoint records none (no latest, no secrets_providers, an empty
	// type, or a version before 3).
	Provider *SecretsProvider
	// Size is the number of bytes decoded, after decompression.
	Size int64
}

// MaxCheckpointVersion is the newest checkpoint version this package reads.
const MaxCheckpointVersion = 4

// DefaultMaxCheckpointSize is the default cap on the bytes decoded from one
// checkpoint, after decompression. Real checkpoints of thousands of
// resources are a few megabytes; a bigger one is far more likely a
// decompression bomb or a hand-edited file than state.
const DefaultMaxCheckpointSize = 256 << 20

// decodeOptions bound the work of decodeCheckpoint.
type decodeOptions struct {
	// MaxSize caps the bytes decoded, after decompression; zero means
	// DefaultMaxCheckpointSize.
	MaxSize int64
	// Decoders, when set, lends the zstd decoders, which bounds what
	// concurrent decodes hold; when nil, each zstd decode makes its own.
	Decoders *decoderPool
}

// decodeCheckpoint reads a checkpoint from r (gzip or zstd compressed, or plain;
// compact or indented) as pulumi reads it, and returns its head.
//
// It reads the whole document, as json.Unmarshal does, in constant memory:
// a value it does not need costs nothing however large, and only the
// secrets_providers object and the stack field are kept. So it gives what
// pulumi's encoding/json decoding gives: keys match their field names
// case-insensitively, a repeated key's last value wins (a repeated object
// is merged into the earlier one, as encoding/json does for pointers), and
// a document with trailing data or a syntax error anywhere is refused, as
// pulumi refuses to load it. It also accepts the output of pulumi stack
// export ({"version", "deployment"}).
//
// It stops with an error wrapping ErrTooLarge after opts.MaxSize decoded
// bytes, and with ctx's error when ctx is done. An error of r itself is
// returned as it is, so callers can tell a failed read from bad bytes.
func decodeCheckpoint(ctx context.Context, r io.Reader, opts decodeOptions) (Head, error) {
	max := opts.MaxSize
	if max <= 0 {
		max = DefaultMaxCheckpointSize
	}
	src := &sourceReader{r: r}
	in, compression, release, err := decompress(ctx, src, opts.Decoders)
	h := Head{Compression: compression}
	if err != nil {
		return h, err
	}
	defer release()
	s := newScanner(ctx, in, max)
	var c checkpointDoc
	err = c.decode(s)
	h.Size = s.offset()
	if err != nil {
		// What was read before the error is still worth showing.
		h.Version, h.Stack = c.version, c.stack
		var re *readError
		switch {
		case src.err != nil:
			return h, src.err
		case errors.Is(err, errLimit):
			return h, fmt.Errorf("%w: more than %d bytes decoded (%s); this looks like a decompression bomb or a hand-edited checkpoint, not state pulumi wrote", ErrTooLarge, max, h.Compression)
		case errors.As(err, &re):
			// The decompressor failed on bytes the store served whole.
			return h, fmt.Errorf("%w: %s: %v", ErrCorrupt, h.Compression, re.err)
		case errors.Is(err, errSyntax):
			return h, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		return h, err
	}
	if err := c.head(&h); err != nil {
		return h, err
	}
	return h, nil
}

package state

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

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

// MaxZstdWindow is the largest zstd window DecodeHead accepts. Pulumi
// compresses with klauspost/compress's default encoder, whose window is 8
// MiB; the window is what a zstd decoder must hold in memory.
const MaxZstdWindow = 8 << 20

// maxProviderJSON caps the secrets_providers object kept for decoding;
// pulumi's are a few hundred bytes.
const maxProviderJSON = 64 << 10

// maxStackField caps the stack field kept for display.
const maxStackField = 4 << 10

// DecodeOptions bound the work of DecodeHead.
type DecodeOptions struct {
	// MaxSize caps the bytes decoded, after decompression; zero means
	// DefaultMaxCheckpointSize.
	MaxSize int64
	// Decoders, when set, lends the zstd decoders, which bounds what
	// concurrent decodes hold; when nil, each zstd decode makes its own.
	Decoders *DecoderPool
}

// DecodeHead reads a checkpoint from r (gzip or zstd compressed, or plain;
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
func DecodeHead(ctx context.Context, r io.Reader, opts DecodeOptions) (Head, error) {
	max := opts.MaxSize
	if max <= 0 {
		max = DefaultMaxCheckpointSize
	}
	src := &sourceReader{r: r}
	var magic [4]byte
	n, _ := io.ReadFull(src, magic[:])
	if src.err != nil {
		return Head{}, src.err
	}
	in := io.MultiReader(bytes.NewReader(magic[:n]), src)
	var h Head
	switch {
	case bytes.HasPrefix(magic[:n], gzipMagic):
		h.Compression = CompressionGzip
		zr, err := gzip.NewReader(in)
		if err != nil {
			return h, src.or(fmt.Errorf("%w: gzip: %v", ErrCorrupt, err))
		}
		defer zr.Close()
		in = zr
	case bytes.HasPrefix(magic[:n], zstdMagic):
		h.Compression = CompressionZstd
		zr, release, err := newZstdReader(ctx, in, opts.Decoders)
		if err != nil {
			return h, src.or(err)
		}
		defer release()
		in = zr
	default:
		h.Compression = CompressionNone
	}
	s := newScanner(ctx, in, max)
	var c checkpointDoc
	err := c.decode(s)
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
func newZstdReader(ctx context.Context, in io.Reader, pool *DecoderPool) (io.Reader, func(), error) {
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

// providerJSON is apitype.SecretsProvidersV1, decoded by encoding/json as
// pulumi decodes it.
type providerJSON struct {
	Type  string          `json:"type"`
	State json.RawMessage `json:"state"`
}

// deploymentDoc is what DecodeHead keeps of a DeploymentV3.
type deploymentDoc struct {
	provider *providerJSON
}

// checkpointDoc is what DecodeHead keeps of a checkpoint file, field by
// field as encoding/json would fill apitype.VersionedCheckpoint and
// CheckpointV3.
type checkpointDoc struct {
	version int
	// checkpoint is the CheckpointV3 of the last "checkpoint" member.
	hasCheckpoint  bool
	checkpointKind byte // the first byte of its value: '{', 'n' or another
	stack          string
	latest         *deploymentDoc
	// deployment is the "deployment" of pulumi stack export output.
	hasDeployment bool
	deployment    *deploymentDoc
	// topStack is a version-0 (CheckpointV1) file's top-level stack.
	topStack string
	// deferred are type errors that fail pulumi's decoding only for some
	// versions, which may come last in the file.
	deferred []deferredError
}

// deferredError is an error that applies when the checkpoint's version
// makes pulumi decode the member that holds it.
type deferredError struct {
	applies func(version int) bool
	err     error
}

func fromV1(v int) bool { return v >= 1 }
func fromV3(v int) bool { return v >= 3 }
func onlyV0(v int) bool { return v == 0 }

// later records err, a type error of a member, for head to return if the
// version makes it matter; other errors (bad JSON, a failed read) stop the
// decode at once.
func (c *checkpointDoc) later(applies func(int) bool, err error) error {
	if err != nil && errors.Is(err, ErrCorrupt) {
		c.deferred = append(c.deferred, deferredError{applies, err})
		return nil
	}
	return err
}

// field reports whether a JSON key fills the struct field name, as
// encoding/json matches them: exactly, or else case-insensitively.
func field(key []byte, name string) bool { return strings.EqualFold(string(key), name) }

func (c *checkpointDoc) decode(s *scanner) error {
	first, err := s.next()
	if err != nil {
		return s.unexpected(err)
	}
	switch first {
	case 'n':
		// json.Unmarshal of null into a struct does nothing: pulumi
		// reads an empty version-0 checkpoint.
		if err := s.literal("null"); err != nil {
			return err
		}
		return s.finish()
	case '{':
	default:
		if err := s.skip(); err != nil {
			return err
		}
		return fmt.Errorf("%w: the checkpoint is not a JSON object", ErrCorrupt)
	}
	err = s.object(func(key []byte) error {
		switch {
		case field(key, "version"):
			return c.decodeVersion(s)
		case field(key, "checkpoint"):
			// A json.RawMessage: the last one replaces the others whole.
			c.hasCheckpoint, c.stack, c.latest = true, "", nil
			k, err := s.next()
			if err != nil {
				return s.unexpected(err)
			}
			c.checkpointKind = k
			if k != '{' {
				return s.skip()
			}
			// Version 0 files are decoded as a whole CheckpointV1,
			// which has no checkpoint member; versions 1 and 2 have no
			// secrets providers.
			return s.object(func(key []byte) error {
				switch {
				case field(key, "stack"):
					return c.later(fromV1, decodeString(s, &c.stack, "checkpoint.stack"))
				case field(key, "latest"):
					return c.decodeDeployment(s, &c.latest, "checkpoint.latest")
				}
				return s.skip()
			})
		case field(key, "deployment"):
			c.hasDeployment, c.deployment = true, nil
			return c.decodeDeployment(s, &c.deployment, "deployment")
		case field(key, "features"):
			return c.decodeFeatures(s)
		case field(key, "stack"):
			return c.later(onlyV0, decodeString(s, &c.topStack, "stack"))
		case field(key, "latest"):
			// A version-0 file's CheckpointV1 latest, which has no
			// secrets providers; only its kind matters.
			k, err := s.next()
			if err != nil {
				return s.unexpected(err)
			}
			if err := s.skip(); err != nil {
				return err
			}
			if k != '{' && k != 'n' {
				return c.later(onlyV0, fmt.Errorf("%w: latest is not an object", ErrCorrupt))
			}
			return nil
		}
		return s.skip()
	})
	if err != nil {
		return err
	}
	return s.finish()
}

// decodeVersion reads the version field into an int, as encoding/json
// would: a null leaves it as it was, anything but an integer is an error.
func (c *checkpointDoc) decodeVersion(s *scanner) error {
	raw, over, err := s.capture(32)
	if err != nil {
		return err
	}
	if over {
		return fmt.Errorf("%w: version is not a small integer", ErrCorrupt)
	}
	if err := json.Unmarshal(raw, &c.version); err != nil {
		return typeError("version", err)
	}
	return nil
}

// decodeString reads a string field (the stack); a value too long to keep
// is read past and left empty, since the field is only shown.
func decodeString(s *scanner, dst *string, what string) error {
	raw, over, err := s.capture(maxStackField)
	if err != nil || over {
		if over {
			*dst = ""
		}
		return err
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return typeError(what, err)
	}
	return nil
}

// decodeDeployment reads a *DeploymentV3 member into *dst: null sets it to
// nil, an object is merged into the one already there. A value that is no
// object fails pulumi from version 1 on, a bad secrets_providers from
// version 3 on; both are recorded with c.later.
func (c *checkpointDoc) decodeDeployment(s *scanner, dst **deploymentDoc, what string) error {
	k, err := s.next()
	if err != nil {
		return s.unexpected(err)
	}
	switch k {
	case 'n':
		*dst = nil
		return s.literal("null")
	case '{':
	default:
		if err := s.skip(); err != nil {
			return err
		}
		return c.later(fromV1, fmt.Errorf("%w: %s is not an object", ErrCorrupt, what))
	}
	if *dst == nil {
		*dst = &deploymentDoc{}
	}
	d := *dst
	return s.object(func(key []byte) error {
		if !field(key, "secrets_providers") {
			return s.skip()
		}
		raw, over, err := s.capture(maxProviderJSON)
		switch {
		case err != nil:
			return err
		case over:
			return c.later(fromV3, fmt.Errorf("%w: %s.secrets_providers is larger than %d bytes; pulumi writes a few hundred", ErrCorrupt, what, maxProviderJSON))
		}
		// Into the same pointer each time: encoding/json's merge.
		if err := json.Unmarshal(raw, &d.provider); err != nil {
			return c.later(fromV3, typeError(what+".secrets_providers", err))
		}
		return nil
	})
}

// decodeFeatures checks that features is what pulumi decodes into a
// []string: null, or an array of strings and nulls.
func (c *checkpointDoc) decodeFeatures(s *scanner) error {
	k, err := s.next()
	if err != nil {
		return s.unexpected(err)
	}
	if k != '[' {
		if err := s.skip(); err != nil {
			return err
		}
		if k == 'n' {
			return nil
		}
		return fmt.Errorf("%w: features is not an array", ErrCorrupt)
	}
	bad := false
	err = s.arrayOf(func(first byte) error {
		bad = bad || (first != '"' && first != 'n')
		return s.skip()
	})
	if err == nil && bad {
		err = fmt.Errorf("%w: features holds something other than strings", ErrCorrupt)
	}
	return err
}

// head turns the decoded document into a Head.
func (c *checkpointDoc) head(h *Head) error {
	h.Version = c.version
	if h.Version < 0 || h.Version > MaxCheckpointVersion {
		return fmt.Errorf("%w: checkpoint version %d (stacksync reads 0 to %d)", ErrUnsupportedVersion, h.Version, MaxCheckpointVersion)
	}
	for _, d := range c.deferred {
		if d.applies(h.Version) {
			return d.err
		}
	}
	latest := c.latest
	switch {
	case c.hasCheckpoint:
		h.Stack = c.stack
		// Versions 1-4 decode the checkpoint member as a struct, which
		// only an object or null can fill.
		if h.Version > 0 && c.checkpointKind != '{' && c.checkpointKind != 'n' {
			return fmt.Errorf("%w: checkpoint is not an object", ErrCorrupt)
		}
	case c.hasDeployment && h.Version >= 3:
		latest = c.deployment
	case h.Version > 0:
		// Pulumi decodes the missing member, an empty json.RawMessage,
		// and fails.
		return fmt.Errorf("%w: a version %d checkpoint with no checkpoint member", ErrCorrupt, h.Version)
	default:
		h.Stack = c.topStack
	}
	h.HasLatest = latest != nil
	if h.Version < 3 || latest == nil || latest.provider == nil || latest.provider.Type == "" {
		// Versions 0-2 predate secrets providers.
		return nil
	}
	p, err := providerFrom(latest.provider)
	if err != nil {
		return err
	}
	h.Provider = p
	return nil
}

// providerFrom decodes a provider's state as pulumi's manager for its type
// does.
func providerFrom(j *providerJSON) (*SecretsProvider, error) {
	p := &SecretsProvider{Type: j.Type}
	if len(j.State) == 0 || bytes.Equal(j.State, []byte("null")) {
		return p, nil
	}
	switch j.Type {
	case TypePassphrase:
		var st struct {
			Salt string `json:"salt"`
		}
		if err := json.Unmarshal(j.State, &st); err != nil {
			return nil, typeError("secrets_providers.state", err)
		}
		p.Salt = st.Salt
	case TypeCloud:
		var st struct {
			URL          string `json:"url"`
			EncryptedKey string `json:"encryptedkey"`
		}
		if err := json.Unmarshal(j.State, &st); err != nil {
			return nil, typeError("secrets_providers.state", err)
		}
		p.URL, p.EncryptedKey = st.URL, st.EncryptedKey
	default:
		// Shown only: a service URL, or whatever an unknown type holds.
		var st struct {
			URL string `json:"url"`
		}
		if json.Unmarshal(j.State, &st) == nil {
			p.URL = st.URL
		}
	}
	return p, nil
}

// typeError says which field holds the wrong kind of value, not which Go
// type it failed to fill.
func typeError(what string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := what
		if te.Field != "" {
			field += "." + te.Field
		}
		return fmt.Errorf("%w: %s holds a JSON %s where pulumi writes something else", ErrCorrupt, field, te.Value)
	}
	return fmt.Errorf("%w: decoding %s: %v", ErrCorrupt, what, err)
}

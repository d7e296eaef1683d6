package state

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
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
}

// MaxCheckpointVersion is the newest checkpoint version this package reads.
const MaxCheckpointVersion = 4

// DecodeHead reads a checkpoint from r, gzip or zstd compressed or plain,
// compact or indented, and returns its head. It stops reading as soon as it
// has the version and the latest deployment's secrets_providers, so for a
// checkpoint Pulumi wrote it reads only the first few hundred bytes whatever
// the state's size. When the field comes later (a hand-edited file, say) it
// reads on, to the end if need be. It also accepts the output of pulumi
// stack export ({"version", "deployment"}).
func DecodeHead(r io.Reader) (Head, error) {
	br := bufio.NewReaderSize(r, 4096)
	var h Head
	magic, _ := br.Peek(4)
	var in io.Reader = br
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		h.Compression = CompressionGzip
		zr, err := gzip.NewReader(br)
		if err != nil {
			return h, fmt.Errorf("%w: gzip: %v", ErrCorrupt, err)
		}
		defer zr.Close()
		in = zr
	case bytes.HasPrefix(magic, zstdMagic):
		h.Compression = CompressionZstd
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return h, fmt.Errorf("%w: zstd: %v", ErrCorrupt, err)
		}
		defer zr.Close()
		in = zr
	default:
		h.Compression = CompressionNone
	}
	d := &headDecoder{dec: json.NewDecoder(in)}
	if err := d.decode(&h); err != nil {
		return h, err
	}
	switch {
	case h.Version < 0 || h.Version > MaxCheckpointVersion:
		return h, fmt.Errorf("%w: checkpoint version %d (stacksync reads 0 to %d); upgrade stacksync", ErrUnsupportedVersion, h.Version, MaxCheckpointVersion)
	case h.Version < 3:
		// Versions 0-2 predate secrets providers.
		h.Provider = nil
	}
	return h, nil
}

// headDecoder walks the checkpoint's JSON tokens.
type headDecoder struct {
	dec         *json.Decoder
	sawVersion  bool
	sawProvider bool
}

// errDone stops the walk once everything needed has been seen.
var errDone = errors.New("done")

func (d *headDecoder) done() bool { return d.sawVersion && d.sawProvider }

func (d *headDecoder) decode(h *Head) error {
	err := d.object(func(key string) error {
		switch key {
		case "version":
			if err := d.dec.Decode(&h.Version); err != nil {
				return d.corrupt("version", err)
			}
			d.sawVersion = true
		case "checkpoint":
			return d.object(func(key string) error {
				switch key {
				case "stack":
					return d.string(&h.Stack)
				case "latest":
					return d.deployment(h)
				}
				return d.skip()
			})
		case "deployment": // pulumi stack export
			return d.deployment(h)
		default:
			return d.skip()
		}
		if d.done() {
			return errDone
		}
		return nil
	})
	if err == errDone {
		return nil
	}
	return err
}

func (d *headDecoder) deployment(h *Head) error {
	t, err := d.dec.Token()
	if err != nil {
		return d.corrupt("latest", err)
	}
	if t == nil { // "latest": null
		return nil
	}
	if t != json.Delim('{') {
		return fmt.Errorf("%w: latest is not an object", ErrCorrupt)
	}
	h.HasLatest = true
	return d.members(func(key string) error {
		if key != "secrets_providers" {
			return d.skip()
		}
		var sp struct {
			Type  string          `json:"type"`
			State json.RawMessage `json:"state"`
		}
		if err := d.dec.Decode(&sp); err != nil {
			return d.corrupt("secrets_providers", err)
		}
		d.sawProvider = true
		if sp.Type != "" {
			p := &SecretsProvider{Type: sp.Type}
			var st struct {
				URL          string `json:"url"`
				EncryptedKey string `json:"encryptedkey"`
				Salt         string `json:"salt"`
			}
			if len(sp.State) > 0 && !bytes.Equal(sp.State, []byte("null")) {
				if err := json.Unmarshal(sp.State, &st); err != nil {
					return d.corrupt("secrets_providers.state", err)
				}
			}
			p.URL, p.EncryptedKey, p.Salt = st.URL, st.EncryptedKey, st.Salt
			h.Provider = p
		}
		if d.done() {
			return errDone
		}
		return nil
	})
}

// object reads a JSON object and calls member for each key, with the decoder
// positioned at the key's value, which member must consume.
func (d *headDecoder) object(member func(key string) error) error {
	t, err := d.dec.Token()
	if err != nil {
		return d.corrupt("checkpoint", err)
	}
	if t != json.Delim('{') {
		return fmt.Errorf("%w: expected a JSON object, found %v", ErrCorrupt, t)
	}
	return d.members(member)
}

func (d *headDecoder) members(member func(key string) error) error {
	for d.dec.More() {
		t, err := d.dec.Token()
		if err != nil {
			return d.corrupt("checkpoint", err)
		}
		key, ok := t.(string)
		if !ok {
			return fmt.Errorf("%w: expected an object key, found %v", ErrCorrupt, t)
		}
		if err := member(key); err != nil {
			return err
		}
	}
	if _, err := d.dec.Token(); err != nil { // the closing '}'
		return d.corrupt("checkpoint", err)
	}
	return nil
}

func (d *headDecoder) string(dst *string) error {
	t, err := d.dec.Token()
	if err != nil {
		return d.corrupt("stack", err)
	}
	if _, ok := t.(json.Delim); ok {
		return fmt.Errorf("%w: the stack field is not a string", ErrCorrupt)
	}
	*dst, _ = t.(string)
	return nil
}

// skip consumes one JSON value token by token, so skipping a large resources
// array costs no memory.
func (d *headDecoder) skip() error {
	depth := 0
	for {
		t, err := d.dec.Token()
		if err != nil {
			return d.corrupt("checkpoint", err)
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

func (d *headDecoder) corrupt(what string, err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	// Say which field has the wrong kind of value, not which Go type it
	// failed to fill.
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

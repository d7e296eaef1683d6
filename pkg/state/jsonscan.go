package state

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// scanBufSize is the scanner's read buffer: the only memory a skipped value
// costs, whatever its size.
const scanBufSize = 32 << 10

// errSyntax marks input that is not JSON, as encoding/json would reject it.
var errSyntax = errors.New("invalid JSON")

// readError marks an error of the underlying reader (the store or the
// decompressor), so the decoder can tell it from bad JSON.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// scanner is a validating, streaming JSON reader. It accepts exactly the
// documents encoding/json accepts and skips any value in constant memory: a
// string of a gigabyte costs no more than an empty one. Only values a
// caller asks for are kept, each up to a limit it names.
type scanner struct {
	ctx context.Context
	r   io.Reader

	buf      []byte
	pos, end int
	// off is the offset of buf[0] in the input; limit caps the bytes read.
	off, limit int64
	err        error // sticky: io.EOF, a readError, context or limit error

	depth int

	// capturing appends every consumed byte to captured, up to capMax;
	// capOver records that the value did not fit.
	capturing bool
	captured  []byte
	capMax    int
	capOver   bool
}

// errLimit is returned when the input is longer than the scanner's limit.
var errLimit = errors.New("input exceeds the limit")

func newScanner(ctx context.Context, r io.Reader, limit int64) *scanner {
	return &scanner{ctx: ctx, r: r, buf: make([]byte, scanBufSize), limit: limit}
}

// offset is how many input bytes have been consumed.
func (s *scanner) offset() int64 { return s.off + int64(s.pos) }

// fill reads more input into an exhausted buffer. It checks the context
// once per buffer, so a cancelled decode stops within one read.
func (s *scanner) fill() error {
	if s.err != nil {
		return s.err
	}
	if err := s.ctx.Err(); err != nil {
		s.err = err
		return err
	}
	s.off += int64(s.end)
	s.pos, s.end = 0, 0
	for s.end == 0 {
		n, err := s.r.Read(s.buf)
		s.end = n
		if s.off+int64(n) > s.limit {
			s.end = int(s.limit - s.off)
			s.err = errLimit
			if s.end > 0 {
				return nil
			}
			return s.err
		}
		if err == io.EOF {
			s.err = io.EOF
			if n > 0 {
				return nil
			}
			return io.EOF
		}
		if err != nil {
			s.err = &readError{err}
			if n > 0 {
				return nil
			}
			return s.err
		}
	}
	return nil
}

// consume moves past n buffered bytes, capturing them if asked.
func (s *scanner) consume(n int) {
	if s.capturing && !s.capOver {
		if len(s.captured)+n > s.capMax {
			s.capOver = true
		} else {
			s.captured = append(s.captured, s.buf[s.pos:s.pos+n]...)
		}
	}
	s.pos += n
}

// unexpected turns the end of input inside a value into a syntax error.
func (s *scanner) unexpected(err error) error {
	if err == io.EOF {
		return fmt.Errorf("%w: unexpected end of JSON input", errSyntax)
	}
	return err
}

// peek returns the next byte without consuming it.
func (s *scanner) peek() (byte, error) {
	if s.pos == s.end {
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
	return s.buf[s.pos], nil
}

// next skips white space and returns the next byte without consuming it.
func (s *scanner) next() (byte, error) {
	for {
		if s.pos == s.end {
			if err := s.fill(); err != nil {
				return 0, err
			}
		}
		for s.pos < s.end {
			switch c := s.buf[s.pos]; c {
			case ' ', '\t', '\r', '\n':
				s.consume(1)
			default:
				return c, nil
			}
		}
	}
}

func (s *scanner) syntax(format string, args ...any) error {
	return fmt.Errorf("%w: "+format+" at offset %d", append([]any{errSyntax}, append(args, s.offset())...)...)
}

// expect consumes byte c, after optional white space.
func (s *scanner) expect(c byte) error {
	got, err := s.next()
	if err != nil {
		return s.unexpected(err)
	}
	if got != c {
		return s.syntax("expected %q, found %q", c, got)
	}
	s.consume(1)
	return nil
}

// capture consumes one value and returns its bytes, or nil with over set
// when it is longer than max.
func (s *scanner) capture(max int) (raw []byte, over bool, err error) {
	if _, err := s.next(); err != nil {
		return nil, false, s.unexpected(err)
	}
	if s.capturing {
		// Nested capture does not happen: the decoder captures leaves.
		return nil, false, errors.New("scanner: nested capture")
	}
	s.capturing, s.captured, s.capMax, s.capOver = true, s.captured[:0], max, false
	err = s.skip()
	s.capturing = false
	if err != nil {
		return nil, false, err
	}
	if s.capOver {
		return nil, true, nil
	}
	return append([]byte(nil), s.captured...), false, nil
}

// finish checks that only white space follows the document, as
// json.Unmarshal requires.
func (s *scanner) finish() error {
	c, err := s.next()
	switch {
	case err == io.EOF:
		return nil
	case err != nil:
		return err
	}
	return s.syntax("invalid character %q after top-level value", c)
}

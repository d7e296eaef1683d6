package state

import (
	"bytes"
	"encoding/json"
	"io"
)

// maxJSONDepth is encoding/json's nesting limit: a deeper document is an
// error there, so it is one here too.
const maxJSONDepth = 10000

// skip consumes one JSON value, validating it.
func (s *scanner) skip() error {
	c, err := s.next()
	if err != nil {
		return s.unexpected(err)
	}
	switch {
	case c == '{':
		return s.object(func([]byte) error { return s.skip() })
	case c == '[':
		return s.array()
	case c == '"':
		return s.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.syntax("invalid character %q looking for a value", c)
}

// object consumes an object, calling member with each key (unescaped, or
// empty for a key too long to match any field; valid until the next key or
// capture) when the scanner is at the key's value, which member must
// consume.
func (s *scanner) object(member func(key []byte) error) error {
	return s.container('{', '}', "object value", func(c byte) error {
		if c != '"' {
			return s.syntax("expected an object key, found %q", c)
		}
		key, err := s.key()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		return member(key)
	})
}

// container consumes an object or an array: open, then items separated by
// commas, then close. item is called with the first byte of each item and
// must consume it.
func (s *scanner) container(open, close byte, what string, item func(first byte) error) error {
	if err := s.expect(open); err != nil {
		return err
	}
	if s.depth++; s.depth > maxJSONDepth {
		return s.syntax("exceeded max depth")
	}
	c, err := s.next()
	if err != nil {
		return s.unexpected(err)
	}
	if c == close {
		s.consume(1)
		s.depth--
		return nil
	}
	for {
		if err := item(c); err != nil {
			return err
		}
		if c, err = s.next(); err != nil {
			return s.unexpected(err)
		}
		switch c {
		case ',':
			s.consume(1)
			if c, err = s.next(); err != nil {
				return s.unexpected(err)
			}
		case close:
			s.consume(1)
			s.depth--
			return nil
		default:
			return s.syntax("expected ',' or %q after %s, found %q", close, what, c)
		}
	}
}

// maxKey is the longest key kept for matching: longer than any field name
// the decoder looks for, even fully \u-escaped.
const maxKey = 128

// key consumes an object key and returns it unescaped, or nil when it is
// longer than maxKey (such a key matches no field). The bytes are the
// scanner's own, valid until the next key or capture: keys cost no
// allocation unless they hold escapes.
func (s *scanner) key() ([]byte, error) {
	if s.capturing {
		// Inside a captured value keys are part of the capture.
		return nil, s.str()
	}
	s.capturing, s.captured, s.capMax, s.capOver = true, s.captured[:0], maxKey, false
	err := s.str()
	s.capturing = false
	if err != nil || s.capOver {
		return nil, err
	}
	q := s.captured
	if bytes.IndexByte(q, '\\') < 0 {
		return q[1 : len(q)-1], nil
	}
	var k string
	if err := json.Unmarshal(q, &k); err != nil {
		return nil, s.syntax("bad object key: %v", err)
	}
	return []byte(k), nil
}

func (s *scanner) array() error {
	return s.arrayOf(func(byte) error { return s.skip() })
}

// arrayOf consumes an array, calling elem, which must consume the element,
// with the first byte of each.
func (s *scanner) arrayOf(elem func(first byte) error) error {
	return s.container('[', ']', "array element", elem)
}

// plain marks the string bytes that need no attention.
var plain = func() (t [256]bool) {
	for i := range t {
		t[i] = i >= 0x20 && i != '"' && i != '\\'
	}
	return t
}()

// str consumes a string, validating its escapes.
func (s *scanner) str() error {
	if err := s.expect('"'); err != nil {
		return err
	}
	for {
		if s.pos == s.end {
			if err := s.fill(); err != nil {
				return s.unexpected(err)
			}
		}
		b := s.buf[s.pos:s.end]
		i := 0
		for i < len(b) && plain[b[i]] {
			i++
		}
		s.consume(i)
		if i == len(b) {
			continue
		}
		switch c := b[i]; {
		case c == '"':
			s.consume(1)
			return nil
		case c == '\\':
			s.consume(1)
			if err := s.escape(); err != nil {
				return err
			}
		default:
			return s.syntax("invalid character %q in string literal", c)
		}
	}
}

func (s *scanner) escape() error {
	c, err := s.peek()
	if err != nil {
		return s.unexpected(err)
	}
	switch c {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.consume(1)
		return nil
	case 'u':
		s.consume(1)
		for range 4 {
			h, err := s.peek()
			if err != nil {
				return s.unexpected(err)
			}
			if !isHex(h) {
				return s.syntax("invalid character %q in \\u hexadecimal character escape", h)
			}
			s.consume(1)
		}
		return nil
	}
	return s.syntax("invalid character %q in string escape code", c)
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number consumes a number with JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() error {
	// at reads the next byte; at the end of input a number may end.
	at := func() (byte, bool, error) {
		c, err := s.peek()
		if err == io.EOF {
			return 0, false, nil
		}
		return c, err == nil, err
	}
	digits := func(what string) error {
		n := 0
		for {
			c, ok, err := at()
			if err != nil {
				return err
			}
			if !ok || !isDigit(c) {
				if n == 0 {
					if !ok {
						return s.unexpected(io.EOF)
					}
					return s.syntax("invalid character %q in %s", c, what)
				}
				return nil
			}
			s.consume(1)
			n++
		}
	}
	c, ok, err := at()
	if err != nil {
		return err
	}
	if ok && c == '-' {
		s.consume(1)
	}
	c, ok, err = at()
	switch {
	case err != nil:
		return err
	case !ok:
		return s.unexpected(io.EOF)
	case c == '0':
		s.consume(1)
	case isDigit(c):
		if err := digits("numeric literal"); err != nil {
			return err
		}
	default:
		return s.syntax("invalid character %q in numeric literal", c)
	}
	if c, ok, err = at(); err != nil || !ok {
		return err
	}
	if c == '.' {
		s.consume(1)
		if err := digits("fraction"); err != nil {
			return err
		}
		if c, ok, err = at(); err != nil || !ok {
			return err
		}
	}
	if c == 'e' || c == 'E' {
		s.consume(1)
		if c, ok, err = at(); err != nil {
			return err
		}
		if ok && (c == '+' || c == '-') {
			s.consume(1)
		}
		return digits("exponent")
	}
	return nil
}

func (s *scanner) literal(word string) error {
	for i := 0; i < len(word); i++ {
		c, err := s.peek()
		if err != nil {
			return s.unexpected(err)
		}
		if c != word[i] {
			return s.syntax("invalid character %q in literal %s", c, word)
		}
		s.consume(1)
	}
	return nil
}

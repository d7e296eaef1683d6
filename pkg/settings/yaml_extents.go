package settings

import (
	"bytes"
	"errors"

	"gopkg.in/yaml.v3"
)

// Where each top-level entry of a YAML settings file ends. An entry starts
// at its key's line; it ends at the last line of its value, which is not
// always the last line before the next key: comments and blank lines after
// a value belong to no entry, and a block or quoted scalar can hold lines
// that look like comments.

// finish sets where each entry ends, given where the document does.
func (d *yamlDoc) finish(docEnd int) error {
	if len(d.entries) > 0 && d.entries[len(d.entries)-1].start >= docEnd {
		return errors.New("unexpected layout of top-level keys")
	}
	for i := range d.entries {
		limit := docEnd
		if i+1 < len(d.entries) {
			limit = d.entries[i+1].start
		}
		d.entries[i].end = d.entryEnd(&d.entries[i], limit)
	}
	return nil
}

// lastOf returns what lastNode finds in n, with lines counted from offset.
func lastOf(n *yaml.Node, parentIndent, offset int) lastInfo {
	last, pi := lastNode(n, parentIndent)
	return lastInfo{
		scalar: last.Kind == yaml.ScalarNode, style: last.Style,
		line: offset + last.Line - 1, column: last.Column, parentIndent: pi,
	}
}

// lastNode returns the node of n that comes last in the text, and the
// indentation of the block collection holding it.
func lastNode(n *yaml.Node, parentIndent int) (*yaml.Node, int) {
	for (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) &&
		len(n.Content) > 0 && n.Style&yaml.FlowStyle == 0 {
		parentIndent = n.Column - 1
		n = n.Content[len(n.Content)-1]
	}
	return n, parentIndent
}

// entryEnd returns the last line of an entry's value, which ends before line
// limit (the next entry's key). Lines after the value that are blank or
// comments belong to no entry and stay where they are.
func (d *yamlDoc) entryEnd(e *yamlEntry, limit int) int {
	end := e.start
	for l := limit - 1; l > e.start; l-- {
		if t := d.text(l); !isBlank(t) && !isComment(t) {
			end = l
			break
		}
	}
	// A block scalar or a quoted scalar can hold lines that look like
	// comments; if the value ends with one, find its real end.
	last := e.last
	if !last.scalar {
		return end
	}
	var scalarEnd int
	switch {
	case last.style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		scalarEnd = d.blockScalarEnd(last, limit)
	case last.style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		scalarEnd = d.quotedEnd(last, limit)
	default:
		return end
	}
	return max(end, min(scalarEnd, limit-1))
}

// blockScalarEnd returns the last content line of a literal or folded block
// scalar.
func (d *yamlDoc) blockScalarEnd(n lastInfo, limit int) int {
	hdr := n.line
	if hdr < 0 || hdr >= d.count() {
		return hdr
	}
	text := d.text(hdr)
	off := byteOffset(text, n.column)
	i := bytes.IndexAny(text[off:], "|>")
	if i < 0 {
		return hdr
	}
	indent := 0
	for _, c := range string(text[off+i+1:]) {
		if c >= '1' && c <= '9' {
			indent = n.parentIndent + int(c-'0')
		} else if c != '+' && c != '-' {
			break
		}
	}
	if indent == 0 {
		for l := hdr + 1; l < limit; l++ {
			if t := d.text(l); !isBlank(t) {
				indent = leadingSpaces(t)
				break
			}
		}
		if indent <= n.parentIndent {
			return hdr // empty block scalar
		}
	}
	end := hdr
	for l := hdr + 1; l < limit; l++ {
		t := d.text(l)
		if isBlank(t) {
			continue
		}
		if leadingSpaces(t) < indent {
			break
		}
		end = l
	}
	return end
}

// quotedEnd returns the line of the closing quote of a quoted scalar.
func (d *yamlDoc) quotedEnd(n lastInfo, limit int) int {
	l := n.line
	if l < 0 || l >= d.count() {
		return l
	}
	q := byte('"')
	if n.style&yaml.SingleQuotedStyle != 0 {
		q = '\''
	}
	text := d.text(l)
	off := byteOffset(text, n.column)
	i := bytes.IndexByte(text[off:], q)
	if i < 0 {
		return l
	}
	pos := off + i + 1
	for ; l < limit; l, pos = l+1, 0 {
		text := d.text(l)
		for pos < len(text) {
			switch c := text[pos]; {
			case q == '"' && c == '\\':
				pos += 2
			case c == q && q == '\'' && pos+1 < len(text) && text[pos+1] == '\'':
				pos += 2
			case c == q:
				return l
			default:
				pos++
			}
		}
	}
	return limit - 1
}

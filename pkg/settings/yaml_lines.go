package settings

import (
	"bytes"
	"unicode/utf8"
)

// The line index of a YAML settings file: where each line starts and ends,
// as yaml.v3 counts lines, and what kind of line it is. The parse and the
// edit work in whole lines.

// lineStarts returns where each line of data starts, plus len(data), with
// lines broken where YAML breaks them: CRLF, LF, CR, NEL, LS and PS, as
// yaml.v3 counts lines.
func lineStarts(data []byte) (starts []int32, noFinalEOL bool) {
	starts = make([]int32, 1, bytes.Count(data, []byte{'\n'})+2)
	for i := 0; i < len(data); {
		n := 0
		switch c := data[i]; {
		case c == '\n':
			n = 1
		case c == '\r':
			n = 1
			if i+1 < len(data) && data[i+1] == '\n' {
				n = 2
			}
		case c == 0xc2 && bytes.HasPrefix(data[i:], []byte("\u0085")): // NEL
			n = 2
		case c == 0xe2 && (bytes.HasPrefix(data[i:], []byte("\u2028")) || bytes.HasPrefix(data[i:], []byte("\u2029"))): // LS, PS
			n = 3
		}
		if n == 0 {
			i++
			continue
		}
		i += n
		starts = append(starts, int32(i))
	}
	if int(starts[len(starts)-1]) < len(data) {
		starts = append(starts, int32(len(data)))
		noFinalEOL = true
	}
	return starts, noFinalEOL
}

// count returns the number of lines.
func (d *yamlDoc) count() int { return len(d.lines) - 1 }

// textEnd returns where the text of line i ends, before its line break.
func (d *yamlDoc) textEnd(i int) int {
	s, e := int(d.lines[i]), int(d.lines[i+1])
	if i == d.count()-1 && d.noFinalEOL {
		return e
	}
	switch b := d.data[s:e]; {
	case bytes.HasSuffix(b, []byte("\r\n")):
		return e - 2
	case bytes.HasSuffix(b, []byte("\n")), bytes.HasSuffix(b, []byte("\r")):
		return e - 1
	case bytes.HasSuffix(b, []byte("\u0085")):
		return e - 2
	}
	return e - 3 // LS, PS
}

// text returns line i without its line break.
func (d *yamlDoc) text(i int) []byte { return d.data[d.lines[i]:d.textEnd(i)] }

// eolOf returns the line break of line i ("" for a last line without one).
func (d *yamlDoc) eolOf(i int) string { return string(d.data[d.textEnd(i):d.lines[i+1]]) }

// isBlank reports whether a line holds only spaces and tabs.
func isBlank(s []byte) bool {
	return len(bytes.Trim(s, " \t")) == 0
}

// isComment reports whether a line holds only a comment.
func isComment(s []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(s, " \t"), []byte("#"))
}

// isMarker reports whether a line is a document marker (--- or ...).
func isMarker(s []byte) bool {
	if !bytes.HasPrefix(s, []byte("---")) && !bytes.HasPrefix(s, []byte("...")) {
		return false
	}
	return len(s) == 3 || s[3] == ' ' || s[3] == '\t'
}

// isBareMarker reports whether a line is a document marker with nothing
// but a comment after it.
func isBareMarker(s []byte) bool {
	if !isMarker(s) {
		return false
	}
	rest := bytes.TrimLeft(s[3:], " \t")
	return len(rest) == 0 || rest[0] == '#'
}

// leadingSpaces counts the spaces a line starts with.
func leadingSpaces(s []byte) int {
	return len(s) - len(bytes.TrimLeft(s, " "))
}

// isKeyStart reports whether a line may start an entry of a block mapping
// at column col: its content starts there and is not a comment, a sequence
// item or the value of an explicit key.
func isKeyStart(s []byte, col int) bool {
	if leadingSpaces(s) != col || len(s) == col {
		return false
	}
	rest := s[col:]
	switch rest[0] {
	case '#', '\t':
		return false
	case '-', ':':
		return len(rest) > 1 && rest[1] != ' ' && rest[1] != '\t'
	}
	return true
}

// byteOffset converts a yaml.v3 column (1-based, in characters) to a byte
// offset in s.
func byteOffset(s []byte, column int) int {
	off := 0
	for n := 1; n < column && off < len(s); n++ {
		_, size := utf8.DecodeRune(s[off:])
		off += size
	}
	return off
}

// commentStart returns the first line of the comment block directly above
// line k (no blank line in between), not reaching up to line lower.
func (d *yamlDoc) commentStart(k, lower int) int {
	for k-1 > lower && isComment(d.text(k-1)) {
		k--
	}
	return k
}

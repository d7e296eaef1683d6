package settings

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// YAML settings files are edited as text: yaml.v3 parses the file to find
// where each top-level entry starts and ends (in lines), and only the lines of
// the three secrets provider entries are removed, replaced or inserted. The
// result is parsed again and checked before it is returned.
//
// A yaml.v3 node tree costs about twenty times the bytes it was parsed from,
// so a file is not parsed as one tree but in batches of about batchBytes: a
// run of top-level entries, or, for an entry whose value is a block mapping
// (config), its key line and then runs of the mapping's entries. A batch
// starts at a line whose content begins at the mapping's column, and must
// parse on its own as a block mapping at that column whose first key is on
// its first line. Since such a line is where the scanner of the whole file
// stands at the start of a key (no flow collection, quoted scalar or block
// scalar spans it, or the batch before it would not parse alone), each batch
// parses the same alone as within the file. Whatever the batches cannot
// prove (an alias to an anchor in another batch, a cut inside a multi-line
// quoted scalar, directives, invalid YAML) is parsed as one tree, as before.
//
// The check of the edit parses the output the same way and compares a
// digest of every other entry; a batch whose bytes are those of a batch of
// the input is not parsed again.

const utf8BOM = "\xef\xbb\xbf"

// batchBytes is about how many bytes of a file yaml.v3 parses at once.
const batchBytes = 64 << 10

// maxYAMLSize is the largest YAML settings file Edit takes: line offsets
// are int32.
const maxYAMLSize = 1<<31 - 1<<20

// errWhole says the batches could not be proven to parse as the whole file.
var errWhole = errors.New("parse as a whole")

// yamlEntry is one top-level key/value pair and the lines it spans.
type yamlEntry struct {
	key        string
	start, end int // first and last line index, inclusive
	state      fieldState
	comment    string   // line comment of the key or value
	digest     [32]byte // of key and value, see appendCanon
	last       lastInfo // the node that comes last in the value's text
}

// lastInfo describes the node that ends an entry's value.
type lastInfo struct {
	scalar       bool
	style        yaml.Style
	line, column int // line index (0-based) and yaml.v3 column (1-based)
	parentIndent int // indentation of the block collection holding it
}

// yamlDoc is a parsed YAML settings file.
type yamlDoc struct {
	data       []byte // the file without its byte order mark
	bom        bool
	lines      []int32 // where each line starts in data, then len(data)
	noFinalEOL bool    // the last line has no line break
	eol        string
	indent     int  // column of the top-level keys
	empty      bool // no top-level mapping: empty or comments only
	appendAt   int  // where to add keys to an empty document
	entries    []yamlEntry
	fields     [3]int // entry index of each field, or -1
	secure     int    // secure values under config
	whole      bool   // parsed as one tree
	parser     *yamlParser
}

// yamlParser parses settings files; its memo lets the check of an edit skip
// the batches it parsed before.
type yamlParser struct {
	batch int                     // bytes per batch
	whole bool                    // parse as one tree
	memo  map[[32]byte]batchValue // batches of mapping entries by their bytes
}

func newYAMLParser(batch int) *yamlParser {
	return &yamlParser{batch: batch}
}

// batchValue is what a batch of a mapping's entries parses to.
type batchValue struct {
	digest [32]byte
	secure int
	last   lastInfo // line relative to the batch's first line
}

func (p *yamlParser) parse(data []byte) (*yamlDoc, error) {
	d := &yamlDoc{eol: "\n", fields: [3]int{-1, -1, -1}, parser: p}
	if bytes.HasPrefix(data, []byte(utf8BOM)) {
		d.bom, data = true, data[len(utf8BOM):]
	}
	if len(data) > maxYAMLSize {
		return nil, fmt.Errorf("the file is larger than %d MiB, which no settings file should be", maxYAMLSize>>20)
	}
	d.data = data
	if p.memo == nil {
		// Sized up front, so that it is not regrown among the garbage of
		// the batches, where it would keep pages from being reused.
		p.memo = make(map[[32]byte]batchValue, len(data)/p.batch+1)
	}
	d.lines, d.noFinalEOL = lineStarts(data)
	for i := 0; i < d.count(); i++ {
		if e := d.eolOf(i); e == "\n" || e == "\r\n" || e == "\r" {
			d.eol = e
			break
		}
	}
	if !p.whole {
		// Any error, not only errWhole, is left to the parse as one
		// tree, so that a file with several faults gets the same one.
		if p.parseBatches(d) == nil {
			return d, nil
		}
		d.entries, d.fields, d.secure = nil, [3]int{-1, -1, -1}, 0
	}
	d.whole = true
	return d, p.parseWhole(d)
}

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

// parseBatches parses d in batches, or returns an error (errWhole when it
// cannot prove that they parse as the whole file does).
func (p *yamlParser) parseBatches(d *yamlDoc) error {
	n := d.count()
	first, markers := 0, 0
	for ; first < n; first++ {
		t := d.text(first)
		if bytes.HasPrefix(t, []byte("---")) && isBareMarker(t) {
			markers++
			continue
		}
		if !isBlank(t) && !isComment(t) {
			break
		}
	}
	if first == n {
		return errWhole // empty: cheap as a whole, and it finds the markers
	}
	d.indent = leadingSpaces(d.text(first))
	if t := d.text(first); !isKeyStart(t, d.indent) || t[0] == '%' || isMarker(t) || markers > 1 {
		return errWhole
	}
	docEnd := n
	for j := first + 1; j < n; j++ {
		if isMarker(d.text(j)) {
			docEnd = j
			break
		}
	}
	for j := docEnd; j < n; j++ {
		if t := d.text(j); !isBlank(t) && !isComment(t) && !isBareMarker(t) {
			return errWhole
		}
	}
	var cuts []int
	for j := first; j < docEnd; j++ {
		if isKeyStart(d.text(j), d.indent) {
			cuts = append(cuts, j)
		}
	}
	pending := -1
	flush := func(end int) error {
		if pending < 0 {
			return nil
		}
		a := pending
		pending = -1
		return p.topBatch(d, a, end)
	}
	for k, c := range cuts {
		end := docEnd
		if k+1 < len(cuts) {
			end = cuts[k+1]
		}
		if s, ok := d.splittable(c, end); ok {
			if err := flush(c); err != nil {
				return err
			}
			if err := p.splitEntry(d, c, s, end); err != nil {
				return err
			}
			continue
		}
		if pending < 0 {
			pending = c
		}
		if int(d.lines[end]-d.lines[pending]) >= p.batch {
			if err := flush(end); err != nil {
				return err
			}
		}
	}
	if err := flush(docEnd); err != nil {
		return err
	}
	return d.finish(docEnd)
}

// splittable reports whether the entry on lines [c, end) is a key alone on
// its line followed by a block mapping one level deeper, and returns the
// first line of that mapping.
func (d *yamlDoc) splittable(c, end int) (int, bool) {
	t := d.text(c)
	colon := bytes.IndexByte(t, ':')
	if colon < 0 {
		return 0, false
	}
	rest := bytes.TrimLeft(t[colon+1:], " \t")
	if len(rest) > 0 && rest[0] != '#' {
		return 0, false
	}
	for s := c + 1; s < end; s++ {
		t := d.text(s)
		if isBlank(t) || isComment(t) {
			continue
		}
		m := leadingSpaces(t)
		return s, m > d.indent && isKeyStart(t, m)
	}
	return 0, false
}

// parseRegion parses lines [a, b) alone and returns the block mapping at
// column col they must hold, whose first key is on line a.
func (d *yamlDoc) parseRegion(a, b, col int) (*yaml.Node, error) {
	text := d.data[d.lines[a]:d.lines[b]]
	// yaml.v3 reads a byte order mark at the start of a stream, and only
	// there: within the file, these bytes are part of a key.
	for _, bom := range []string{utf8BOM, "\xff\xfe", "\xfe\xff"} {
		if bytes.HasPrefix(text, []byte(bom)) {
			return nil, errWhole
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	var doc, next yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil, errWhole
	}
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, errWhole
	}
	if len(doc.Content) != 1 {
		return nil, errWhole
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode || root.Style != 0 || root.Tag != "!!map" || root.Anchor != "" ||
		root.Column-1 != col || len(root.Content) == 0 || root.Content[0].Line != 1 {
		return nil, errWhole
	}
	return root, nil
}

// topBatch parses top-level entries on lines [a, b).
func (p *yamlParser) topBatch(d *yamlDoc, a, b int) error {
	root, err := d.parseRegion(a, b, d.indent)
	if err != nil {
		return err
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, value := root.Content[i], root.Content[i+1]
		if err := d.addEntry(key, value, a); err != nil {
			return err
		}
		e := &d.entries[len(d.entries)-1]
		e.digest = unsplitDigest(key, value)
		e.last = lastOf(value, d.indent, a)
		e.comment = value.LineComment
		if e.comment == "" {
			e.comment = key.LineComment
		}
		if e.key == "config" {
			d.secure = countSecureConfigYAML(value)
		}
		if j := fieldIndexYAML(e.key); j >= 0 {
			e.state = scalarState(value)
		}
	}
	return nil
}

// splitEntry parses the entry on lines [c, end) whose value is the block
// mapping starting on line s, in batches of the mapping's entries.
func (p *yamlParser) splitEntry(d *yamlDoc, c, s, end int) error {
	head, err := d.parseRegion(c, c+1, d.indent)
	if err != nil || len(head.Content) != 2 {
		return errWhole
	}
	key, null := head.Content[0], head.Content[1]
	if null.Kind != yaml.ScalarNode || null.Tag != "!!null" || null.Value != "" || null.Anchor != "" {
		return errWhole
	}
	if err := d.addEntry(key, nil, c); err != nil {
		return err
	}
	col := leadingSpaces(d.text(s))
	h := sha256.New()
	h.Write(appendCanon(nil, key))
	h.Write([]byte("split"))
	var secure int
	var last lastInfo
	batch := func(a, b int) error {
		sum := sha256.Sum256(d.data[d.lines[a]:d.lines[b]])
		v, ok := p.memo[sum]
		if !ok {
			root, err := d.parseRegion(a, b, col)
			if err != nil {
				return err
			}
			var buf []byte
			for i := 0; i+1 < len(root.Content); i += 2 {
				buf = appendCanon(buf, root.Content[i])
				buf = appendCanon(buf, root.Content[i+1])
				v.secure += countSecureYAML(root.Content[i+1])
			}
			v.digest = sha256.Sum256(buf)
			v.last = lastOf(root, d.indent, 0)
			p.memo[sum] = v
		}
		h.Write(v.digest[:])
		secure += v.secure
		last = v.last
		last.line += a
		return nil
	}
	start := s
	for j := s + 1; j <= end; j++ {
		if j < end && !isKeyStart(d.text(j), col) {
			continue
		}
		if j == end || int(d.lines[j]-d.lines[start]) >= p.batch {
			if err := batch(start, j); err != nil {
				return err
			}
			start = j
		}
	}
	e := &d.entries[len(d.entries)-1]
	copy(e.digest[:], h.Sum(nil))
	e.last = last
	e.state = fieldState{present: true}
	if e.key == "config" {
		d.secure = secure
	}
	return nil
}

// addEntry appends the entry whose key node was parsed from line offset a
// on, after the checks every top-level key gets.
func (d *yamlDoc) addEntry(key, value *yaml.Node, offset int) error {
	if key.Kind != yaml.ScalarNode {
		// A mapping or sequence as a key: nothing pulumi writes, and
		// nothing we can read back reliably.
		return fmt.Errorf("top-level key on line %d is not a plain key", offset+key.Line)
	}
	if key.Tag == "!!merge" {
		return errors.New("merge keys (<<) at the top level are not supported")
	}
	for _, e := range d.entries {
		if e.key == key.Value {
			return fmt.Errorf("duplicate top-level key %q", key.Value)
		}
	}
	start := offset + key.Line - 1
	if n := len(d.entries); n > 0 && start <= d.entries[n-1].start {
		return errors.New("unexpected layout of top-level keys")
	}
	if j := fieldIndexYAML(key.Value); j >= 0 {
		d.fields[j] = len(d.entries)
	}
	d.entries = append(d.entries, yamlEntry{key: key.Value, start: start})
	return nil
}

// fieldIndexYAML returns the index of the field a YAML key names, or -1.
func fieldIndexYAML(key string) int {
	for j, k := range fieldKeys {
		if key == k {
			return j
		}
	}
	return -1
}

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

// scalarState returns the state of a field whose value is n.
func scalarState(n *yaml.Node) fieldState {
	var s string
	if (n.Kind == yaml.ScalarNode || n.Kind == yaml.AliasNode) && n.Decode(&s) == nil {
		return fieldState{present: true, str: true, value: s}
	}
	return fieldState{present: true}
}

// lastOf returns what lastNode finds in n, with lines counted from offset.
func lastOf(n *yaml.Node, parentIndent, offset int) lastInfo {
	last, pi := lastNode(n, parentIndent)
	return lastInfo{
		scalar: last.Kind == yaml.ScalarNode, style: last.Style,
		line: offset + last.Line - 1, column: last.Column, parentIndent: pi,
	}
}

// appendCanon appends to buf an encoding of n that two nodes share exactly
// when they hold the same YAML, ignoring positions and comments: kind,
// style, tag, value, anchor and content, recursively.
func appendCanon(buf []byte, n *yaml.Node) []byte {
	str := func(s string) {
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	buf = binary.AppendUvarint(buf, uint64(n.Kind))
	buf = binary.AppendUvarint(buf, uint64(n.Style))
	str(n.Tag)
	str(n.Value)
	str(n.Anchor)
	buf = binary.AppendUvarint(buf, uint64(len(n.Content)))
	for _, c := range n.Content {
		buf = appendCanon(buf, c)
	}
	return buf
}

// unsplitDigest is the digest of an entry parsed in one piece.
func unsplitDigest(key, value *yaml.Node) [32]byte {
	buf := appendCanon(nil, key)
	buf = append(buf, "whole"...)
	return sha256.Sum256(appendCanon(buf, value))
}

// parseWhole parses d as one tree.
func (p *yamlParser) parseWhole(d *yamlDoc) error {
	dec := yaml.NewDecoder(bytes.NewReader(d.data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("not valid YAML: %w", err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return fmt.Errorf("not valid YAML: %w", err)
	case !emptyDocument(&next):
		return errors.New("more than one YAML document")
	}

	if emptyDocument(&doc) {
		d.empty = true
		d.appendAt = d.count()
		starts := 0
		for i := 0; i < d.count(); i++ {
			t := d.text(i)
			if bytes.HasPrefix(t, []byte("...")) && isMarker(t) {
				d.appendAt = i
				break
			}
			if bytes.HasPrefix(t, []byte("---")) && isMarker(t) {
				if starts++; starts == 2 {
					d.appendAt = i
					break
				}
			}
		}
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("the top level is a %s, not a mapping of keys", kindNames[root.Kind])
	}
	if root.Style&yaml.FlowStyle != 0 {
		return errors.New("the top level is a flow mapping ({...}); rewrite it in block style (one key per line)")
	}
	d.indent = root.Column - 1

	// The document's content ends at the next document marker.
	docEnd := d.count()
	for i := root.Line; i < d.count(); i++ {
		if isMarker(d.text(i)) {
			docEnd = i
			break
		}
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, value := root.Content[i], root.Content[i+1]
		if err := d.addEntry(key, value, 0); err != nil {
			return err
		}
		e := &d.entries[len(d.entries)-1]
		if e.start < 0 || e.start >= docEnd {
			return errors.New("unexpected layout of top-level keys")
		}
		e.digest = unsplitDigest(key, value)
		e.last = lastOf(value, d.indent, 0)
		e.comment = value.LineComment
		if e.comment == "" {
			e.comment = key.LineComment
		}
		if e.key == "config" {
			d.secure = countSecureConfigYAML(value)
		}
		if j := fieldIndexYAML(e.key); j >= 0 {
			e.state = scalarState(value)
		}
	}
	return d.finish(docEnd)
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

// state returns what the document holds for field i.
func (d *yamlDoc) state(i int) fieldState {
	if d.fields[i] < 0 {
		return fieldState{}
	}
	return d.entries[d.fields[i]].state
}

func (d *yamlDoc) states() (s [3]fieldState) {
	for i := range s {
		s[i] = d.state(i)
	}
	return s
}

// secureValues counts the secure values under config.
func (d *yamlDoc) secureValues() int {
	return d.secure
}

// countSecureConfigYAML counts secure values in the values of a config
// mapping (its keys are config keys, so config itself is never one).
func countSecureConfigYAML(config *yaml.Node) int {
	if config == nil || config.Kind != yaml.MappingNode {
		return 0
	}
	n := 0
	for i := 1; i < len(config.Content); i += 2 {
		n += countSecureYAML(config.Content[i])
	}
	return n
}

// countSecureYAML counts {secure: "…"} mappings in n, as Pulumi recognises
// them: a mapping with exactly one key, secure, holding a string. Aliases
// are not followed.
func countSecureYAML(n *yaml.Node) int {
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content) == 2 && n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Value == "secure" &&
			n.Content[1].Kind == yaml.ScalarNode && n.Content[1].Tag == "!!str" {
			return 1
		}
		c := 0
		for i := 1; i < len(n.Content); i += 2 {
			c += countSecureYAML(n.Content[i])
		}
		return c
	case yaml.SequenceNode:
		c := 0
		for _, item := range n.Content {
			c += countSecureYAML(item)
		}
		return c
	}
	return 0
}

// encodeYAMLEntry returns the lines of "key: value" as yaml.v3 writes them,
// indented by indent spaces.
func encodeYAMLEntry(key, value string, indent int) ([]string, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: key},
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: value},
	}}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("encode %s: %w", key, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode %s: %w", key, err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	pad := strings.Repeat(" ", indent)
	for i := range lines {
		lines[i] = pad + lines[i]
	}
	return lines, nil
}

// yamlFields mirrors how Pulumi reads the three fields.
type yamlFields struct {
	SecretsProvider string `yaml:"secretsprovider"`
	EncryptedKey    string `yaml:"encryptedkey"`
	EncryptionSalt  string `yaml:"encryptionsalt"`
}

func readFieldsYAML(data []byte) (Fields, error) {
	var f yamlFields
	if err := yaml.Unmarshal(data, &f); err != nil {
		return Fields{}, fmt.Errorf("read secrets provider fields: %w", err)
	}
	return Fields(f), nil
}

func secureValuesYAML(data []byte) (int, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return 0, fmt.Errorf("not valid YAML: %w", err)
	}
	if emptyDocument(&doc) {
		return 0, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return 0, fmt.Errorf("the top level is a %s, not a mapping of keys", kindNames[root.Kind])
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i]; k.Kind == yaml.ScalarNode && k.Value == "config" {
			return countSecureConfigYAML(root.Content[i+1]), nil
		}
	}
	return 0, nil
}

var kindNames = map[yaml.Kind]string{
	yaml.DocumentNode: "document", yaml.SequenceNode: "sequence",
	yaml.MappingNode: "mapping", yaml.ScalarNode: "scalar", yaml.AliasNode: "alias",
}

// emptyDocument reports whether a parsed document has no content: nothing at
// all, or an empty (implicit null) node.
func emptyDocument(doc *yaml.Node) bool {
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return true
	}
	c := doc.Content[0]
	return c.Kind == yaml.ScalarNode && c.Tag == "!!null" && c.Value == "" && c.Anchor == ""
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

// commentStart returns the first line of the comment block directly above
// line k (no blank line in between), not reaching up to line lower.
func (d *yamlDoc) commentStart(k, lower int) int {
	for k-1 > lower && isComment(d.text(k-1)) {
		k--
	}
	return k
}

// apply implements settingsDoc. It uses up d: only its entries are left.
func (d *yamlDoc) apply(want [3]string, cur [3]fieldState, ops [3]op) ([]byte, error) {
	// Lines to add before a line index, and entries to replace or drop.
	inserts := map[int][]string{}
	replace := map[int][]string{} // entry start line -> new lines
	drop := map[int]bool{}        // entry start line
	ends := map[int]int{}         // entry start line -> end line
	anchors := placeInserts(ops, d.fields)
	extra := 0
	for i, o := range ops {
		if o == opKeep {
			continue
		}
		lines, err := encodeYAMLEntry(fieldKeys[i], want[i], d.indent)
		if err != nil {
			return nil, err
		}
		for _, l := range lines {
			extra += len(l) + len(d.eol)
		}
		switch o {
		case opInsert:
			a := anchors[i]
			var at int
			switch {
			case d.empty:
				at = d.appendAt
			case a.after:
				at = d.entries[a.entry].end + 1
			default:
				lower := -1
				if a.entry > 0 {
					lower = d.entries[a.entry-1].end
				}
				at = d.commentStart(d.entries[a.entry].start, lower)
			}
			inserts[at] = append(inserts[at], lines...)
		case opReplace:
			e := d.entries[d.fields[i]]
			if e.comment != "" && e.start == e.end && len(lines) == 1 {
				lines[0] += " " + e.comment
				extra += len(e.comment) + 1
			}
			replace[e.start] = lines
			ends[e.start] = e.end
		case opRemove:
			e := d.entries[d.fields[i]]
			drop[e.start] = true
			ends[e.start] = e.end
		}
	}

	// Copy runs of untouched lines whole; the last line gets a line break
	// if it lacks one, which the first candidate below takes off again.
	out := make([]byte, 0, len(utf8BOM)+len(d.data)+len(d.eol)+extra)
	if d.bom {
		out = append(out, utf8BOM...)
	}
	lastEOL := 0 // length of the line break that ends out
	newLines := func(lines []string) {
		for _, t := range lines {
			out = append(out, t...)
			out = append(out, d.eol...)
			lastEOL = len(d.eol)
		}
	}
	copyLines := func(a, b int) {
		if a >= b {
			return
		}
		out = append(out, d.data[d.lines[a]:d.lines[b]]...)
		lastEOL = len(d.eolOf(b - 1))
		if b == d.count() && d.noFinalEOL {
			out = append(out, d.eol...)
			lastEOL = len(d.eol)
		}
	}
	run := 0
	for i := 0; i <= d.count(); i++ {
		lines, ins := inserts[i]
		_, rep := replace[i]
		if !ins && !rep && !drop[i] && i < d.count() {
			continue
		}
		copyLines(run, i)
		run = i
		newLines(lines)
		if rep || drop[i] {
			newLines(replace[i])
			run = ends[i] + 1
			i = ends[i]
		}
	}

	// The check needs only d's entries: let the line offsets go, which
	// for a large file makes room for the output's.
	d.lines = nil

	// Without a final line break, as the input, unless a block scalar that
	// now ends the file needs the one it had before, or its value changes.
	fin := final(cur, want, ops)
	candidates := [][]byte{out}
	if d.noFinalEOL {
		candidates = [][]byte{out[:len(out)-lastEOL], out}
	}
	var err error
	for _, edited := range candidates {
		if err = checkYAMLEdit(d.parser, d, edited, fin); err == nil {
			return edited, nil
		}
	}
	return nil, err
}

// checkYAMLEdit parses the edited file with p, which parsed orig, and
// checks that it holds the wanted fields and exactly the other top-level
// entries of the original.
func checkYAMLEdit(p *yamlParser, orig *yamlDoc, edited []byte, want [3]fieldState) error {
	fail := func(why string) error {
		return fmt.Errorf("cannot edit this file safely (%s); set the secrets provider fields by hand", why)
	}
	q := *p
	q.whole = orig.whole
	d, err := q.parse(edited)
	if err != nil {
		return fail(err.Error())
	}
	if d.states() != want {
		return fail("fields differ after the edit")
	}
	others := func(d *yamlDoc) []yamlEntry {
		var es []yamlEntry
		for i, e := range d.entries {
			if i != d.fields[0] && i != d.fields[1] && i != d.fields[2] {
				es = append(es, e)
			}
		}
		return es
	}
	a, b := others(orig), others(d)
	if len(a) != len(b) {
		return fail("other keys changed")
	}
	for i := range a {
		if a[i].key != b[i].key || a[i].digest != b[i].digest {
			return fail("other keys changed")
		}
	}
	return nil
}

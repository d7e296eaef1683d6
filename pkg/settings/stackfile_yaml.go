package settings

import (
	"bytes"
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

const utf8BOM = "\xef\xbb\xbf"

// yamlLine is one line of a file without its line break, and the break.
type yamlLine struct {
	text, eol string
}

// yamlEntry is one top-level key/value pair and the lines it spans.
type yamlEntry struct {
	key, value *yaml.Node
	start, end int // first and last line index, inclusive
}

// yamlDoc is a parsed YAML settings file.
type yamlDoc struct {
	bom        bool
	lines      []yamlLine
	noFinalEOL bool   // the last line has no line break
	eol        string // line break for new lines
	indent     int    // column of the top-level keys
	empty      bool   // no top-level mapping: empty or comments only
	appendAt   int    // where to add keys to an empty document
	entries    []yamlEntry
	fields     [3]int // entry index of each field, or -1
	config     *yaml.Node
}

// splitLines splits data into lines at the line breaks YAML knows: CRLF, LF,
// CR, NEL, LS and PS, as yaml.v3 counts lines.
func splitLines(data string) (lines []yamlLine, noFinalEOL bool) {
	start := 0
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
		case c == 0xc2 && strings.HasPrefix(data[i:], "\u0085"): // NEL
			n = 2
		case c == 0xe2 && (strings.HasPrefix(data[i:], "\u2028") || strings.HasPrefix(data[i:], "\u2029")): // LS, PS
			n = 3
		}
		if n == 0 {
			i++
			continue
		}
		lines = append(lines, yamlLine{text: data[start:i], eol: data[i : i+n]})
		i += n
		start = i
	}
	if start < len(data) {
		lines = append(lines, yamlLine{text: data[start:]})
		noFinalEOL = true
	}
	return lines, noFinalEOL
}

// isBlank reports whether a line holds only spaces and tabs.
func isBlank(s string) bool {
	return strings.Trim(s, " \t") == ""
}

// isComment reports whether a line holds only a comment.
func isComment(s string) bool {
	return strings.HasPrefix(strings.TrimLeft(s, " \t"), "#")
}

// isMarker reports whether a line is a document marker (--- or ...).
func isMarker(s string) bool {
	if !strings.HasPrefix(s, "---") && !strings.HasPrefix(s, "...") {
		return false
	}
	return len(s) == 3 || s[3] == ' ' || s[3] == '\t'
}

// leadingSpaces counts the spaces a line starts with.
func leadingSpaces(s string) int {
	return len(s) - len(strings.TrimLeft(s, " "))
}

// byteOffset converts a yaml.v3 column (1-based, in characters) to a byte
// offset in s.
func byteOffset(s string, column int) int {
	off := 0
	for n := 1; n < column && off < len(s); n++ {
		_, size := utf8.DecodeRuneInString(s[off:])
		off += size
	}
	return off
}

var kindNames = map[yaml.Kind]string{
	yaml.DocumentNode: "document", yaml.SequenceNode: "sequence",
	yaml.MappingNode: "mapping", yaml.ScalarNode: "scalar", yaml.AliasNode: "alias",
}

// parseYAML parses a settings file for editing.
func parseYAML(data []byte) (*yamlDoc, error) {
	d := &yamlDoc{eol: "\n", fields: [3]int{-1, -1, -1}}
	body := string(data)
	if strings.HasPrefix(body, utf8BOM) {
		d.bom, body = true, body[len(utf8BOM):]
	}
	d.lines, d.noFinalEOL = splitLines(body)
	for _, l := range d.lines {
		if l.eol == "\n" || l.eol == "\r\n" || l.eol == "\r" {
			d.eol = l.eol
			break
		}
	}
	if d.noFinalEOL {
		d.lines[len(d.lines)-1].eol = d.eol
	}

	dec := yaml.NewDecoder(strings.NewReader(body))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, fmt.Errorf("not valid YAML: %w", err)
	case !emptyDocument(&next):
		return nil, errors.New("more than one YAML document")
	}

	if emptyDocument(&doc) {
		d.empty = true
		d.appendAt = len(d.lines)
		starts := 0
		for i, l := range d.lines {
			if strings.HasPrefix(l.text, "...") && isMarker(l.text) {
				d.appendAt = i
				break
			}
			if strings.HasPrefix(l.text, "---") && isMarker(l.text) {
				if starts++; starts == 2 {
					d.appendAt = i
					break
				}
			}
		}
		return d, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("the top level is a %s, not a mapping of keys", kindNames[root.Kind])
	}
	if root.Style&yaml.FlowStyle != 0 {
		return nil, errors.New("the top level is a flow mapping ({...}); rewrite it in block style (one key per line)")
	}
	d.indent = root.Column - 1

	// The document's content ends at the next document marker.
	docEnd := len(d.lines)
	for i := root.Line; i < len(d.lines); i++ {
		if isMarker(d.lines[i].text) {
			docEnd = i
			break
		}
	}

	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, value := root.Content[i], root.Content[i+1]
		if key.Kind != yaml.ScalarNode {
			// A mapping or sequence as a key: nothing pulumi writes, and
			// nothing we can read back reliably.
			return nil, fmt.Errorf("top-level key on line %d is not a plain key", key.Line)
		}
		if key.Tag == "!!merge" {
			return nil, errors.New("merge keys (<<) at the top level are not supported")
		}
		if seen[key.Value] {
			return nil, fmt.Errorf("duplicate top-level key %q", key.Value)
		}
		seen[key.Value] = true
		for j, name := range fieldKeys {
			if key.Value == name {
				d.fields[j] = len(d.entries)
			}
		}
		if key.Value == "config" {
			d.config = value
		}
		start := key.Line - 1
		if start < 0 || start >= docEnd || len(d.entries) > 0 && start <= d.entries[len(d.entries)-1].start {
			return nil, errors.New("unexpected layout of top-level keys")
		}
		d.entries = append(d.entries, yamlEntry{key: key, value: value, start: start})
	}
	for i := range d.entries {
		limit := docEnd
		if i+1 < len(d.entries) {
			limit = d.entries[i+1].start
		}
		d.entries[i].end = d.entryEnd(&d.entries[i], limit)
	}
	return d, nil
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

// entryEnd returns the last line of an entry's value, which ends before line
// limit (the next entry's key). Lines after the value that are blank or
// comments belong to no entry and stay where they are.
func (d *yamlDoc) entryEnd(e *yamlEntry, limit int) int {
	end := e.start
	for l := limit - 1; l > e.start; l-- {
		if t := d.lines[l].text; !isBlank(t) && !isComment(t) {
			end = l
			break
		}
	}
	// A block scalar or a quoted scalar can hold lines that look like
	// comments; if the value ends with one, find its real end.
	last, parentIndent := lastNode(e.value, d.indent)
	if last.Kind != yaml.ScalarNode {
		return end
	}
	var scalarEnd int
	switch {
	case last.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		scalarEnd = d.blockScalarEnd(last, parentIndent, limit)
	case last.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		scalarEnd = d.quotedEnd(last, limit)
	default:
		return end
	}
	return max(end, min(scalarEnd, limit-1))
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

// blockScalarEnd returns the last content line of a literal or folded block
// scalar.
func (d *yamlDoc) blockScalarEnd(n *yaml.Node, parentIndent, limit int) int {
	hdr := n.Line - 1
	if hdr < 0 || hdr >= len(d.lines) {
		return hdr
	}
	text := d.lines[hdr].text
	off := byteOffset(text, n.Column)
	i := strings.IndexAny(text[off:], "|>")
	if i < 0 {
		return hdr
	}
	indent := 0
	for _, c := range text[off+i+1:] {
		if c >= '1' && c <= '9' {
			indent = parentIndent + int(c-'0')
		} else if c != '+' && c != '-' {
			break
		}
	}
	if indent == 0 {
		for l := hdr + 1; l < limit; l++ {
			if t := d.lines[l].text; !isBlank(t) {
				indent = leadingSpaces(t)
				break
			}
		}
		if indent <= parentIndent {
			return hdr // empty block scalar
		}
	}
	end := hdr
	for l := hdr + 1; l < limit; l++ {
		t := d.lines[l].text
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
func (d *yamlDoc) quotedEnd(n *yaml.Node, limit int) int {
	l := n.Line - 1
	if l < 0 || l >= len(d.lines) {
		return l
	}
	q := byte('"')
	if n.Style&yaml.SingleQuotedStyle != 0 {
		q = '\''
	}
	text := d.lines[l].text
	off := byteOffset(text, n.Column)
	i := strings.IndexByte(text[off:], q)
	if i < 0 {
		return l
	}
	pos := off + i + 1
	for ; l < limit; l, pos = l+1, 0 {
		text := d.lines[l].text
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
	v := d.entries[d.fields[i]].value
	var s string
	if (v.Kind == yaml.ScalarNode || v.Kind == yaml.AliasNode) && v.Decode(&s) == nil {
		return fieldState{present: true, str: true, value: s}
	}
	return fieldState{present: true}
}

func (d *yamlDoc) states() (s [3]fieldState) {
	for i := range s {
		s[i] = d.state(i)
	}
	return s
}

// secureValues counts the secure values under config.
func (d *yamlDoc) secureValues() int {
	return countSecureConfigYAML(d.config)
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

// commentStart returns the first line of the comment block directly above
// line k (no blank line in between), not reaching up to line lower.
func (d *yamlDoc) commentStart(k, lower int) int {
	for k-1 > lower && isComment(d.lines[k-1].text) {
		k--
	}
	return k
}

// render joins lines back into file bytes. The last line lacks a line break
// when the input's did, unless finalEOL is set.
func (d *yamlDoc) render(lines []yamlLine, finalEOL bool) []byte {
	var b bytes.Buffer
	if d.bom {
		b.WriteString(utf8BOM)
	}
	for i, l := range lines {
		b.WriteString(l.text)
		if i < len(lines)-1 || !d.noFinalEOL || finalEOL {
			b.WriteString(l.eol)
		}
	}
	return b.Bytes()
}

// apply implements settingsDoc.
func (d *yamlDoc) apply(want [3]string, cur [3]fieldState, ops [3]op) ([]byte, error) {

	// Lines to add before a line index, and entries to replace or drop.
	inserts := map[int][]string{}
	replace := map[int][]string{} // entry start line -> new lines
	drop := map[int]bool{}        // entry start line
	anchors := placeInserts(ops, d.fields)
	for i, o := range ops {
		if o == opKeep {
			continue
		}
		lines, err := encodeYAMLEntry(fieldKeys[i], want[i], d.indent)
		if err != nil {
			return nil, err
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
			if c := lineComment(e); c != "" && e.start == e.end && len(lines) == 1 {
				lines[0] += " " + c
			}
			replace[e.start] = lines
		case opRemove:
			drop[d.entries[d.fields[i]].start] = true
		}
	}
	ends := map[int]int{}
	for _, e := range d.entries {
		ends[e.start] = e.end
	}
	var out []yamlLine
	for i := 0; i <= len(d.lines); i++ {
		for _, t := range inserts[i] {
			out = append(out, yamlLine{text: t, eol: d.eol})
		}
		if i == len(d.lines) {
			break
		}
		if lines, ok := replace[i]; ok {
			for _, t := range lines {
				out = append(out, yamlLine{text: t, eol: d.eol})
			}
			i = ends[i]
			continue
		}
		if drop[i] {
			i = ends[i]
			continue
		}
		out = append(out, d.lines[i])
	}
	edited := d.render(out, false)
	err := checkYAMLEdit(d, edited, final(cur, want, ops))
	if err != nil && d.noFinalEOL {
		// A block scalar that now ends the file needs the line break it
		// had before, or its value changes.
		edited = d.render(out, true)
		err = checkYAMLEdit(d, edited, final(cur, want, ops))
	}
	if err != nil {
		return nil, err
	}
	return edited, nil
}

// lineComment returns the comment on the line of a one-line entry.
func lineComment(e yamlEntry) string {
	if e.value.LineComment != "" {
		return e.value.LineComment
	}
	return e.key.LineComment
}

// checkYAMLEdit parses the edited file and checks that it holds the wanted
// fields and exactly the other top-level entries of the original.
func checkYAMLEdit(orig *yamlDoc, edited []byte, want [3]fieldState) error {
	fail := func(why string) error {
		return fmt.Errorf("cannot edit this file safely (%s); set the secrets provider fields by hand", why)
	}
	d, err := parseYAML(edited)
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
		if !sameNode(a[i].key, b[i].key) || !sameNode(a[i].value, b[i].value) {
			return fail("other keys changed")
		}
	}
	return nil
}

// sameNode reports whether two nodes hold the same YAML, ignoring positions
// and comments.
func sameNode(a, b *yaml.Node) bool {
	if a.Kind != b.Kind || a.Style != b.Style || a.Tag != b.Tag || a.Value != b.Value ||
		a.Anchor != b.Anchor || len(a.Content) != len(b.Content) {
		return false
	}
	for i := range a.Content {
		if !sameNode(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
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

package settings

import (
	"bytes"
	"errors"
	"fmt"

	"gopkg.in/yaml.v3"
)

// YAML settings files are edited as text: yaml.v3 parses the file to find
// where each top-level entry starts and ends (in lines), and only the lines of
// the three secrets provider entries are removed, replaced or inserted. The
// result is parsed again and checked before it is returned.
//
// The pieces, in the order an edit uses them: the line index (yaml_lines.go);
// the parse, in batches (yaml_batch.go) or as one tree (yaml_whole.go), which
// records each top-level entry (here); where each entry's lines end
// (yaml_extents.go); the new lines (yaml_apply.go); and the check of the
// result (yaml_check.go). yaml_read.go reads the fields and secure values
// the way Pulumi does.

// utf8BOM is the byte order mark a YAML file may start with.
const utf8BOM = "\xef\xbb\xbf"

// maxYAMLSize is the largest YAML settings file Edit takes: line offsets
// are int32.
const maxYAMLSize = 1<<31 - 1<<20

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

// newYAMLParser returns a parser that parses about batch bytes at once.
func newYAMLParser(batch int) *yamlParser {
	return &yamlParser{batch: batch}
}

// parse parses data, a YAML settings file, in batches when the batches can
// be proven to parse as the whole file does, and as one tree otherwise.
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

// addEntry appends the top-level entry of key and value, parsed from line
// offset on: where it starts, what it holds and the digest the check of an
// edit compares.
func (d *yamlDoc) addEntry(key, value *yaml.Node, offset int) error {
	if err := d.addKey(key, offset); err != nil {
		return err
	}
	e := &d.entries[len(d.entries)-1]
	e.digest = unsplitDigest(key, value)
	e.last = lastOf(value, d.indent, offset)
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
	return nil
}

// addKey appends the entry whose key node was parsed from line offset on,
// after the checks every top-level key gets.
func (d *yamlDoc) addKey(key *yaml.Node, offset int) error {
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

// scalarState returns the state of a field whose value is n.
func scalarState(n *yaml.Node) fieldState {
	var s string
	if (n.Kind == yaml.ScalarNode || n.Kind == yaml.AliasNode) && n.Decode(&s) == nil {
		return fieldState{present: true, str: true, value: s}
	}
	return fieldState{present: true}
}

// state returns what the document holds for field i.
func (d *yamlDoc) state(i int) fieldState {
	if d.fields[i] < 0 {
		return fieldState{}
	}
	return d.entries[d.fields[i]].state
}

// states implements settingsDoc.
func (d *yamlDoc) states() (s [3]fieldState) {
	for i := range s {
		s[i] = d.state(i)
	}
	return s
}

// secureValues implements settingsDoc: it counts the secure values under
// config.
func (d *yamlDoc) secureValues() int {
	return d.secure
}

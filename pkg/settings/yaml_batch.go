package settings

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"

	"gopkg.in/yaml.v3"
)

// A yaml.v3 node tree costs many times the bytes it was parsed from, so a
// file is not parsed as one tree but in batches of about batchBytes: a run
// of top-level entries, or, for an entry whose value is a block mapping
// (config), its key line and then runs of the mapping's entries. A batch
// starts at a line whose content begins at the mapping's column, and must
// parse on its own as a block mapping at that column whose first key is on
// its first line. Since such a line is where the scanner of the whole file
// stands at the start of a key (no flow collection, quoted scalar or block
// scalar spans it, or the batch before it would not parse alone), each batch
// parses the same alone as within the file. Whatever the batches cannot
// prove (an alias to an anchor in another batch, a cut inside a multi-line
// quoted scalar, directives, invalid YAML) is parsed as one tree
// (yaml_whole.go).
//
// The check of the edit parses the output the same way and compares a
// digest of every other entry; a batch whose bytes are those of a batch of
// the input is not parsed again.

// batchBytes is about how many bytes of a file yaml.v3 parses at once.
const batchBytes = 64 << 10

// errWhole says the batches could not be proven to parse as the whole file.
var errWhole = errors.New("parse as a whole")

// batchValue is what a batch of a mapping's entries parses to.
type batchValue struct {
	digest [32]byte
	secure int
	last   lastInfo // line relative to the batch's first line
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
		if err := d.addEntry(root.Content[i], root.Content[i+1], a); err != nil {
			return err
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
	if err := d.addKey(key, c); err != nil {
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

package settings

import (
	"crypto/sha256"
	"encoding/binary"

	"gopkg.in/yaml.v3"
)

// The check of a YAML edit: the edited file is parsed again, and must hold
// the wanted fields and, entry for entry, the same other top-level keys and
// values as the original, compared by a digest of each entry's nodes.

// checkYAMLEdit parses the edited file with p, which parsed orig, and
// checks that it holds the wanted fields and exactly the other top-level
// entries of the original.
func checkYAMLEdit(p *yamlParser, orig *yamlDoc, edited []byte, want [3]fieldState) error {
	q := *p
	q.whole = orig.whole
	d, err := q.parse(edited)
	if err != nil {
		return editUnsafe(err.Error())
	}
	if d.states() != want {
		return editUnsafe("fields differ after the edit")
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
		return editUnsafe("other keys changed")
	}
	for i := range a {
		if a[i].key != b[i].key || a[i].digest != b[i].digest {
			return editUnsafe("other keys changed")
		}
	}
	return nil
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

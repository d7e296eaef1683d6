package settings

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// The parse of a YAML settings file as one tree, for what the batches cannot
// prove (yaml_batch.go) and for empty files. It also gives the error a file
// that does not parse is refused with.

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
		if err := d.addEntry(root.Content[i], root.Content[i+1], 0); err != nil {
			return err
		}
		if start := d.entries[len(d.entries)-1].start; start < 0 || start >= docEnd {
			return errors.New("unexpected layout of top-level keys")
		}
	}
	return d.finish(docEnd)
}

// kindNames names node kinds in errors.
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

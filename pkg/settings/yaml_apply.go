package settings

import (
	"bytes"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// The edit of a YAML settings file: new and replaced fields are written as
// yaml.v3 writes them, at the file's indentation and with its line break,
// where Pulumi puts them; every other line is copied as it was.

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

package settings

import (
	"bytes"
	"encoding/json"
)

// jsonString encodes s as Pulumi's JSON encoder does (HTML characters
// escaped).
func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// render returns the file d holds: its pieces, in order, with a comma
// between entries.
func (d *jsonDoc) render() []byte {
	n := len(d.head) + len(d.tail) + len(d.foot)
	for _, e := range d.entries {
		n += 1 + len(e.pre) + len(e.key) + len(e.sep) + len(e.val) + len(e.post)
	}
	b := make([]byte, 0, n)
	b = append(b, d.head...)
	for i, e := range d.entries {
		if i > 0 {
			b = append(b, ',')
		}
		for _, part := range [][]byte{e.pre, e.key, e.sep, e.val, e.post} {
			b = append(b, part...)
		}
	}
	b = append(b, d.tail...)
	return append(b, d.foot...)
}

// apply implements settingsDoc.
func (d *jsonDoc) apply(want [3]string, cur [3]fieldState, ops [3]op) ([]byte, error) {
	// A new object is written the way Pulumi writes one: four-space indent.
	pre, sep := []byte("\n    "), []byte(": ")
	if d.empty {
		d.head, d.tail, d.foot = []byte("{"), []byte("\n"), []byte("}\n")
	} else if len(d.entries) > 0 {
		pre, sep = d.entries[0].pre, d.entries[0].sep
	} else if !bytes.Contains(d.tail, []byte("\n")) {
		d.tail = []byte("\n")
	}
	newEntry := func(i int, like *jsonEntry) jsonEntry {
		e := jsonEntry{pre: pre, key: jsonString(fieldKeys[i]), sep: sep, val: jsonString(want[i]), name: fieldKeys[i]}
		if like != nil {
			e.pre, e.sep = like.pre, like.sep
		}
		return e
	}
	anchors := placeInserts(ops, d.fields)
	before := map[int][]jsonEntry{}
	after := map[int][]jsonEntry{}
	var top []jsonEntry
	for i, o := range ops {
		if o != opInsert {
			continue
		}
		a := anchors[i]
		switch {
		case len(d.entries) == 0:
			top = append(top, newEntry(i, nil))
		case a.after:
			after[a.entry] = append(after[a.entry], newEntry(i, &d.entries[a.entry]))
		default:
			before[a.entry] = append(before[a.entry], newEntry(i, &d.entries[a.entry]))
		}
	}
	out := top
	for k, e := range d.entries {
		out = append(out, before[k]...)
		keep := true
		for i, o := range ops {
			if d.fields[i] != k {
				continue
			}
			switch o {
			case opReplace:
				e.val = jsonString(want[i])
			case opRemove:
				keep = false
			}
		}
		if keep {
			out = append(out, e)
		}
		out = append(out, after[k]...)
	}
	if n := len(out); n > 0 {
		// The last member has no comma after it; its trailing space is the
		// object's tail.
		out[n-1].post = nil
	}
	orig := d.entries
	d.entries = out
	edited := d.render()
	if err := checkJSONEdit(orig, edited, final(cur, want, ops)); err != nil {
		return nil, err
	}
	return edited, nil
}

package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// JSON settings files (Pulumi.<stack>.json) are edited by byte ranges found
// with encoding/json's token offsets: the file is split into the text
// before each top-level key, the key, the separator, the value and the text
// after it, so untouched entries are copied byte for byte.

// jsonEntry is one top-level member of a JSON object and the text around it.
type jsonEntry struct {
	pre  string // whitespace before the key (after the comma)
	key  string // the key's text, quotes included
	sep  string // whitespace, colon, whitespace
	val  string // the value's text
	post string // whitespace between the value and the next comma
	name string // the decoded key
}

// jsonDoc is a parsed JSON settings file.
type jsonDoc struct {
	empty   bool   // nothing but whitespace
	head    string // everything up to and including "{"
	entries []jsonEntry
	tail    string // whitespace before "}"
	foot    string // "}" and what follows
	fields  [3]int
	config  string // text of the config value, or ""
}

func isJSONSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// parseJSON parses a JSON settings file for editing.
func parseJSON(data []byte) (*jsonDoc, error) {
	d := &jsonDoc{fields: [3]int{-1, -1, -1}}
	if len(bytes.TrimLeft(data, " \t\r\n")) == 0 {
		d.empty = true
		return d, nil
	}
	invalid := func(err error) error { return fmt.Errorf("not valid JSON: %w", err) }
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, invalid(err)
	}
	if tok != json.Delim('{') {
		return nil, errors.New("the top level is not a JSON object")
	}
	open := int(dec.InputOffset())
	d.head = string(data[:open])
	prevEnd := open
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalid(err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, invalid(errors.New("object key is not a string"))
		}
		keyEnd := int(dec.InputOffset())
		keyStart, comma := prevEnd, -1
		for keyStart < keyEnd && (isJSONSpace(data[keyStart]) || data[keyStart] == ',') {
			if data[keyStart] == ',' {
				comma = keyStart
			}
			keyStart++
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, invalid(err)
		}
		valEnd := int(dec.InputOffset())
		valStart := keyEnd
		for valStart < valEnd && (isJSONSpace(data[valStart]) || data[valStart] == ':') {
			valStart++
		}
		if keyStart >= keyEnd || data[keyStart] != '"' || valStart >= valEnd ||
			(len(d.entries) > 0) != (comma >= 0) {
			return nil, invalid(errors.New("unexpected layout"))
		}
		e := jsonEntry{
			key: string(data[keyStart:keyEnd]), sep: string(data[keyEnd:valStart]),
			val: string(data[valStart:valEnd]), name: name,
		}
		if len(d.entries) == 0 {
			e.pre = string(data[open:keyStart])
		} else {
			e.pre = string(data[comma+1 : keyStart])
			d.entries[len(d.entries)-1].post = string(data[prevEnd:comma])
		}
		if seen[name] {
			return nil, fmt.Errorf("duplicate top-level key %q", name)
		}
		seen[name] = true
		for j, k := range fieldKeys {
			// encoding/json, which Pulumi reads these files with, matches
			// keys to fields without regard to case.
			if strings.EqualFold(name, k) {
				if d.fields[j] >= 0 {
					return nil, fmt.Errorf("duplicate top-level key %q", k)
				}
				d.fields[j] = len(d.entries)
			}
		}
		if name == "config" {
			d.config = e.val
		}
		d.entries = append(d.entries, e)
		prevEnd = valEnd
	}
	if _, err := dec.Token(); err != nil { // the closing "}"
		return nil, invalid(err)
	}
	closeEnd := int(dec.InputOffset())
	d.tail = string(data[prevEnd : closeEnd-1])
	d.foot = string(data[closeEnd-1:])
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the top-level JSON object")
	}
	return d, nil
}

// state returns what the document holds for field i.
func (d *jsonDoc) state(i int) fieldState {
	if d.fields[i] < 0 {
		return fieldState{}
	}
	v := d.entries[d.fields[i]].val
	if v == "null" {
		return fieldState{present: true, str: true}
	}
	var s string
	if strings.HasPrefix(v, `"`) && json.Unmarshal([]byte(v), &s) == nil {
		return fieldState{present: true, str: true, value: s}
	}
	return fieldState{present: true}
}

func (d *jsonDoc) states() (s [3]fieldState) {
	for i := range s {
		s[i] = d.state(i)
	}
	return s
}

func (d *jsonDoc) secureValues() int {
	if d.config == "" {
		return 0
	}
	dec := json.NewDecoder(strings.NewReader(d.config))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return 0
	}
	m, ok := v.(map[string]any)
	if !ok {
		return 0
	}
	n := 0
	for _, item := range m {
		n += countSecureJSON(item)
	}
	return n
}

// countSecureJSON counts {"secure": "…"} objects in v.
func countSecureJSON(v any) int {
	n := 0
	switch v := v.(type) {
	case map[string]any:
		if _, ok := v["secure"].(string); ok && len(v) == 1 {
			return 1
		}
		for _, item := range v {
			n += countSecureJSON(item)
		}
	case []any:
		for _, item := range v {
			n += countSecureJSON(item)
		}
	}
	return n
}

// jsonString encodes s as Pulumi's JSON encoder does (HTML characters
// escaped).
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (d *jsonDoc) render() []byte {
	var b strings.Builder
	b.WriteString(d.head)
	for i, e := range d.entries {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(e.pre + e.key + e.sep + e.val + e.post)
	}
	b.WriteString(d.tail + d.foot)
	return []byte(b.String())
}

// apply implements settingsDoc.
func (d *jsonDoc) apply(want [3]string, cur [3]fieldState, ops [3]op) ([]byte, error) {

	// A new object is written the way Pulumi writes one: four-space indent.
	pre, sep := "\n    ", ": "
	if d.empty {
		d.head, d.tail, d.foot = "{", "\n", "}\n"
	} else if len(d.entries) > 0 {
		pre, sep = d.entries[0].pre, d.entries[0].sep
	} else if !strings.Contains(d.tail, "\n") {
		d.tail = "\n"
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
		out[n-1].post = ""
	}
	orig := d.entries
	d.entries = out
	edited := d.render()
	if err := checkJSONEdit(orig, edited, final(cur, want, ops)); err != nil {
		return nil, err
	}
	return edited, nil
}

// checkJSONEdit parses the edited file and checks that it holds the wanted
// fields and exactly the other members of the original.
func checkJSONEdit(orig []jsonEntry, edited []byte, want [3]fieldState) error {
	fail := func(why string) error {
		return fmt.Errorf("cannot edit this file safely (%s); set the secrets provider fields by hand", why)
	}
	d, err := parseJSON(edited)
	if err != nil {
		return fail(err.Error())
	}
	if d.states() != want {
		return fail("fields differ after the edit")
	}
	var a, b []string
	for _, e := range orig {
		if fieldIndex(e.name) < 0 {
			a = append(a, e.key+e.sep+e.val)
		}
	}
	for _, e := range d.entries {
		if fieldIndex(e.name) < 0 {
			b = append(b, e.key+e.sep+e.val)
		}
	}
	if strings.Join(a, "\x00") != strings.Join(b, "\x00") || len(a) != len(b) {
		return fail("other keys changed")
	}
	return nil
}

// fieldIndex returns the index of the field a JSON key names, or -1.
func fieldIndex(name string) int {
	for j, k := range fieldKeys {
		if strings.EqualFold(name, k) {
			return j
		}
	}
	return -1
}

func readFieldsJSON(data []byte) (Fields, error) {
	d, err := parseJSON(data)
	if err != nil {
		return Fields{}, fmt.Errorf("read secrets provider fields: %w", err)
	}
	var f [3]string
	for i, s := range d.states() {
		if s.present && !s.str {
			return Fields{}, fmt.Errorf("read secrets provider fields: %s is not a string", fieldKeys[i])
		}
		f[i] = s.value
	}
	return fieldsFromArray(f), nil
}

func secureValuesJSON(data []byte) (int, error) {
	d, err := parseJSON(data)
	if err != nil {
		return 0, err
	}
	return d.secureValues(), nil
}

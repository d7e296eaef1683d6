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
// after it, so untouched entries are copied byte for byte. The pieces are
// slices of the file, and values are walked token by token rather than
// decoded, so a large file costs little more than its own bytes.

// jsonEntry is one top-level member of a JSON object and the text around it.
type jsonEntry struct {
	pre  []byte // whitespace before the key (after the comma)
	key  []byte // the key's text, quotes included
	sep  []byte // whitespace, colon, whitespace
	val  []byte // the value's text
	post []byte // whitespace between the value and the next comma
	name string // the decoded key
}

// jsonDoc is a parsed JSON settings file.
type jsonDoc struct {
	empty   bool   // nothing but whitespace
	head    []byte // everything up to and including "{"
	entries []jsonEntry
	tail    []byte // whitespace before "}"
	foot    []byte // "}" and what follows
	fields  [3]int
	secure  int // secure values under config
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
	d.head = data[:open]
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
		walk := walkJSON
		if name == "config" {
			walk = walkJSONConfig
		}
		secure, _, err := walk(dec)
		if err != nil {
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
			key: data[keyStart:keyEnd], sep: data[keyEnd:valStart],
			val: data[valStart:valEnd], name: name,
		}
		if len(d.entries) == 0 {
			e.pre = data[open:keyStart]
		} else {
			e.pre = data[comma+1 : keyStart]
			d.entries[len(d.entries)-1].post = data[prevEnd:comma]
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
			d.secure = secure
		}
		d.entries = append(d.entries, e)
		prevEnd = valEnd
	}
	if _, err := dec.Token(); err != nil { // the closing "}"
		return nil, invalid(err)
	}
	closeEnd := int(dec.InputOffset())
	d.tail = data[prevEnd : closeEnd-1]
	d.foot = data[closeEnd-1:]
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
	if string(v) == "null" {
		return fieldState{present: true, str: true}
	}
	var s string
	if bytes.HasPrefix(v, []byte(`"`)) && json.Unmarshal(v, &s) == nil {
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
	return d.secure
}

// walkJSONConfig is walkJSON for the value of config, whose own keys are
// config keys: config itself is never a secure value, nor is anything but
// an object a config.
func walkJSONConfig(dec *json.Decoder) (secure int, str bool, err error) {
	tok, err := dec.Token()
	if err != nil {
		return 0, false, err
	}
	switch tok {
	case json.Delim('{'):
		for dec.More() {
			if _, err := dec.Token(); err != nil {
				return 0, false, err
			}
			n, _, err := walkJSON(dec)
			if err != nil {
				return 0, false, err
			}
			secure += n
		}
		_, err = dec.Token()
		return secure, false, err
	case json.Delim('['):
		for dec.More() {
			if _, _, err := walkJSON(dec); err != nil {
				return 0, false, err
			}
		}
		_, err = dec.Token()
		return 0, false, err
	}
	_, str = tok.(string)
	return 0, str, nil
}

// walkJSON reads one value from dec, token by token, and returns the
// number of secure values in it, as Pulumi recognises them (an object whose
// only key is secure, holding a string; with duplicate keys the last one
// counts, as encoding/json decodes them), and whether it is a string.
func walkJSON(dec *json.Decoder) (secure int, str bool, err error) {
	tok, err := dec.Token()
	if err != nil {
		return 0, false, err
	}
	switch tok {
	case json.Delim('{'):
		keys, onlySecure, secureStr := 0, true, false
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return 0, false, err
			}
			n, isStr, err := walkJSON(dec)
			if err != nil {
				return 0, false, err
			}
			keys++
			secure += n
			if k == "secure" {
				secureStr = isStr
			} else {
				onlySecure = false
			}
		}
		if _, err := dec.Token(); err != nil {
			return 0, false, err
		}
		if keys > 0 && onlySecure && secureStr {
			return 1, false, nil
		}
		return secure, false, nil
	case json.Delim('['):
		for dec.More() {
			n, _, err := walkJSON(dec)
			if err != nil {
				return 0, false, err
			}
			secure += n
		}
		_, err := dec.Token()
		return secure, false, err
	}
	_, str = tok.(string)
	return 0, str, nil
}

// jsonString encodes s as Pulumi's JSON encoder does (HTML characters
// escaped).
func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

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
	others := func(es []jsonEntry) []jsonEntry {
		var out []jsonEntry
		for _, e := range es {
			if fieldIndex(e.name) < 0 {
				out = append(out, e)
			}
		}
		return out
	}
	a, b := others(orig), others(d.entries)
	if len(a) != len(b) {
		return fail("other keys changed")
	}
	for i := range a {
		if !bytes.Equal(a[i].key, b[i].key) || !bytes.Equal(a[i].sep, b[i].sep) || !bytes.Equal(a[i].val, b[i].val) {
			return fail("other keys changed")
		}
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

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
//
// The parse is here; json_secure.go counts secure values as it goes,
// json_apply.go writes the edited file and json_check.go checks it.

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

// isJSONSpace reports whether c is JSON whitespace.
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
		if j := fieldIndexJSON(name); j >= 0 {
			if d.fields[j] >= 0 {
				return nil, fmt.Errorf("duplicate top-level key %q", fieldKeys[j])
			}
			d.fields[j] = len(d.entries)
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

// states implements settingsDoc.
func (d *jsonDoc) states() (s [3]fieldState) {
	for i := range s {
		s[i] = d.state(i)
	}
	return s
}

// secureValues implements settingsDoc: it counts the secure values under
// config.
func (d *jsonDoc) secureValues() int {
	return d.secure
}

// fieldIndexJSON returns the index of the field a JSON key names, or -1:
// encoding/json, which Pulumi reads these files with, matches keys to
// fields without regard to case.
func fieldIndexJSON(name string) int {
	for j, k := range fieldKeys {
		if strings.EqualFold(name, k) {
			return j
		}
	}
	return -1
}

// readFieldsJSON implements readFields for JSON.
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

// secureValuesJSON implements SecureValues for JSON.
func secureValuesJSON(data []byte) (int, error) {
	d, err := parseJSON(data)
	if err != nil {
		return 0, err
	}
	return d.secureValues(), nil
}

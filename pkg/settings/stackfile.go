package settings

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// ErrConflict is returned by Edit when a settings file already holds a
// secrets provider field with a different value than the one wanted.
var ErrConflict = errors.New("settings file conflicts with state")

// Keys of the three secrets provider fields in a settings file, in the order
// Pulumi writes them.
const (
	KeySecretsProvider = "secretsprovider"
	KeyEncryptedKey    = "encryptedkey"
	KeyEncryptionSalt  = "encryptionsalt"
)

// fieldKeys lists the field keys in Pulumi's order; indexes into it are used
// for the [3] arrays below.
var fieldKeys = [3]string{KeySecretsProvider, KeyEncryptedKey, KeyEncryptionSalt}

// Fields are the secrets provider fields of a stack settings file. An empty
// string means the key is absent.
type Fields struct {
	SecretsProvider string // secretsprovider
	EncryptedKey    string // encryptedkey
	EncryptionSalt  string // encryptionsalt
}

func (f Fields) array() [3]string {
	return [3]string{f.SecretsProvider, f.EncryptedKey, f.EncryptionSalt}
}

func fieldsFromArray(a [3]string) Fields {
	return Fields{SecretsProvider: a[0], EncryptedKey: a[1], EncryptionSalt: a[2]}
}

// fileFormat is the syntax of a settings file.
type fileFormat int

const (
	// formatYAML is Pulumi.<stack>.yaml or .yml.
	formatYAML fileFormat = iota
	// formatJSON is Pulumi.<stack>.json.
	formatJSON
)

func (f fileFormat) String() string {
	if f == formatJSON {
		return "JSON"
	}
	return "YAML"
}

// formatFor returns the format of the settings file at path, by its
// extension: JSON for .json, YAML otherwise.
func formatFor(path string) fileFormat {
	if strings.EqualFold(filepath.Ext(path), ".json") {
		return formatJSON
	}
	return formatYAML
}

// Action says what Edit did to a settings file.
type Action int

const (
	// ActionUnchanged means the file already had the wanted fields.
	ActionUnchanged Action = iota
	// ActionCreated means the input was empty (no file) and fields were written.
	ActionCreated
	// ActionUpdated means fields were added, replaced or removed.
	ActionUpdated
	// ActionConflict means a field held a different value and Force was off;
	// nothing was changed.
	ActionConflict
)

func (a Action) String() string {
	switch a {
	case ActionUnchanged:
		return "unchanged"
	case ActionCreated:
		return "created"
	case ActionUpdated:
		return "updated"
	case ActionConflict:
		return "conflict"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// editOptions control Edit.
type editOptions struct {
	// fileFormat is the settings file's syntax.
	fileFormat fileFormat
	// Force replaces or removes fields that hold a different value instead of
	// reporting a conflict.
	Force bool
}

// Result says what Edit did. It names fields but never holds their values.
type Result struct {
	Action Action
	// Set lists the keys written (added or replaced), in Pulumi's order.
	Set []string
	// Removed lists the keys deleted.
	Removed []string
	// Conflicts lists the keys whose existing value differs from the wanted
	// one (with Force, these are also in Set or Removed).
	Conflicts []string
	// SecureValues counts the secure: values under config.
	SecureValues int
}

// Edit returns data, the bytes of the settings file called name (its
// extension gives the syntax: .json is JSON, anything else YAML), changed so
// that its secrets provider fields match want, plus what changed; force
// replaces values that differ instead of refusing them.
//
// A .yaml or .yml file that holds a JSON object, which pulumi reads as the
// YAML it also is, is edited as JSON and stays JSON.
func Edit(name string, data []byte, want Fields, force bool) ([]byte, Result, error) {
	f := formatFor(name)
	if f == formatYAML && jsonObject(data) {
		f = formatJSON
	}
	return edit(data, want, editOptions{fileFormat: f, Force: force})
}

// jsonObject reports whether data, after white space and a byte order
// mark, opens a JSON object: a YAML flow mapping the YAML editor does not
// take, which the JSON editor does.
func jsonObject(data []byte) bool {
	t := bytes.TrimLeft(bytes.TrimPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("\ufeff")), " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

// edit returns data, a settings file in the given format, changed so that its
// secrets provider fields match want, plus what changed.
//
// A field wanted empty must be absent; a field wanted non-empty must equal
// the wanted string exactly. Missing fields (absent or empty) are added; a
// secretsprovider of "passphrase" or "default" also counts as missing, and is
// left alone when want has no secretsprovider (it means the same to Pulumi).
// A field that holds another non-empty value is a conflict: unless
// opts.Force is set, Edit returns data unchanged, Action ActionConflict and
// an error wrapping ErrConflict.
//
// Every byte outside the three fields' entries is kept: config, environment,
// other keys, comments, order, quoting, indentation and line endings. New
// fields go where Pulumi puts them: in the order secretsprovider,
// encryptedkey, encryptionsalt, next to the fields already present, or else
// before the first key. Empty input gives a new file (ActionCreated), or
// stays empty when want is all empty.
//
// Edit refuses, with data unchanged, input that does not parse, whose top
// level is not a block mapping (YAML) or an object (JSON), or that has
// duplicate top-level keys.
func edit(data []byte, want Fields, opts editOptions) ([]byte, Result, error) {
	return editBatched(data, want, opts, batchBytes)
}

// editBatched is edit, parsing YAML in batches of about batch bytes.
func editBatched(data []byte, want Fields, opts editOptions, batch int) ([]byte, Result, error) {
	w := want.array()
	for i, v := range w {
		if !utf8.ValidString(v) {
			return data, Result{}, fmt.Errorf("wanted %s is not valid UTF-8", fieldKeys[i])
		}
	}
	var d settingsDoc
	var err error
	if opts.fileFormat == formatJSON {
		d, err = parseJSON(data)
	} else {
		d, err = newYAMLParser(batch).parse(data)
	}
	if err != nil {
		return data, Result{}, err
	}
	cur := d.states()
	secure := d.secureValues()
	ops, conflicts := plan(cur, w, opts.Force)
	if len(conflicts) > 0 && !opts.Force {
		return data, Result{Action: ActionConflict, Conflicts: conflicts, SecureValues: secure}, conflictError(conflicts)
	}
	res := result(ops, conflicts, secure, len(data) == 0)
	if res.Action == ActionUnchanged {
		return data, res, nil
	}
	out, err := d.apply(w, cur, ops)
	if err != nil {
		return data, Result{}, err
	}
	return out, res, nil
}

// settingsDoc is a parsed settings file, YAML or JSON, that can rewrite its
// three fields and leave every other byte alone.
type settingsDoc interface {
	// states returns what the file holds for each of the three fields.
	states() [3]fieldState
	// secureValues counts the secure values under config.
	secureValues() int
	// apply returns the file with ops carried out to reach want.
	apply(want [3]string, cur [3]fieldState, ops [3]op) ([]byte, error)
}

// fieldState is what a file holds for one of the three fields.
type fieldState struct {
	present bool   // the key is in the file
	str     bool   // its value reads as a string (null reads as "")
	value   string // that string
}

// op is the change planned for one field.
type op int

const (
	opKeep op = iota
	opInsert
	opReplace
	opRemove
)

// unsetProvider reports whether a secretsprovider value means "no cloud
// provider" to Pulumi.
func unsetProvider(v string) bool {
	return v == "" || v == "passphrase" || v == "default"
}

// plan decides, field by field, how to get from cur to want.
func plan(cur [3]fieldState, want [3]string, force bool) (ops [3]op, conflicts []string) {
	for i := range fieldKeys {
		c, w := cur[i], want[i]
		if !c.present {
			if w != "" {
				ops[i] = opInsert
			}
			continue
		}
		unset := c.str && (c.value == "" || i == 0 && unsetProvider(c.value))
		switch {
		case w == "" && unset:
			if c.value == "" {
				ops[i] = opRemove // an empty or null value: make it absent
			} // else: secretsprovider passphrase/default, equivalent; keep
		case c.str && c.value == w:
			// already right
		case unset:
			ops[i] = opReplace
		default:
			conflicts = append(conflicts, fieldKeys[i])
			if w == "" {
				ops[i] = opRemove
			} else {
				ops[i] = opReplace
			}
		}
	}
	if len(conflicts) > 0 && !force {
		ops = [3]op{}
	}
	return ops, conflicts
}

// final returns the field values the file holds after ops.
func final(cur [3]fieldState, want [3]string, ops [3]op) [3]fieldState {
	var out [3]fieldState
	for i, o := range ops {
		switch o {
		case opKeep:
			out[i] = cur[i]
		case opInsert, opReplace:
			out[i] = fieldState{present: true, str: true, value: want[i]}
		}
	}
	return out
}

// anchor says where a new field goes: before or after an existing entry.
type anchor struct {
	entry int  // index of the entry
	after bool // after it rather than before it
}

// placeInserts returns where each field to insert goes, given the entry
// index of each field already in the file: after the nearest field that
// comes before it in Pulumi's order, else before the nearest that comes
// after it, else before the first entry.
func placeInserts(ops [3]op, fields [3]int) [3]anchor {
	var a [3]anchor
	stays := func(j int) bool { return fields[j] >= 0 && ops[j] != opRemove }
	for i, o := range ops {
		if o != opInsert {
			continue
		}
		a[i] = anchor{}
		placed := false
		for j := i - 1; j >= 0 && !placed; j-- {
			if stays(j) {
				a[i], placed = anchor{entry: fields[j], after: true}, true
			}
		}
		for j := i + 1; j < len(fields) && !placed; j++ {
			if stays(j) {
				a[i], placed = anchor{entry: fields[j]}, true
			}
		}
	}
	return a
}

// conflictError builds the error for fields that differ from state.
func conflictError(conflicts []string) error {
	return fmt.Errorf("%w: %s already set to a different value", ErrConflict, strings.Join(conflicts, ", "))
}

// result fills in a Result from the planned ops.
func result(ops [3]op, conflicts []string, secure int, created bool) Result {
	r := Result{Action: ActionUnchanged, Conflicts: conflicts, SecureValues: secure}
	for i, o := range ops {
		switch o {
		case opInsert, opReplace:
			r.Set = append(r.Set, fieldKeys[i])
		case opRemove:
			r.Removed = append(r.Removed, fieldKeys[i])
		}
	}
	if len(r.Set)+len(r.Removed) > 0 {
		r.Action = ActionUpdated
		if created {
			r.Action = ActionCreated
		}
	}
	return r
}

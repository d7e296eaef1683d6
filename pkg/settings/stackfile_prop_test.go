package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// valuePool holds values for generated files and wanted fields, including
// ones YAML must quote and multi-line ones.
var valuePool = []string{
	testURL, testKey, testKey2, testSalt, "v1:old", "passphrase", "default",
	"awskms://1234abcd-12ab-34cd-56ef-1234567890ab?region=eu-central-1",
	"gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k",
	"hashivault://mykey", "true", "123", "a: b", "#hash", "- dash", "  lead", "trail ",
	"quote\"s", "it's", "ключ", "line one\nline two", "{x}", "*star", "@at", "%pct",
}

// genChunk is a piece of a generated settings file; field says whether it is
// one of the three fields' entries.
type genChunk struct {
	text  string
	field bool
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.Intn(len(xs))] }

// genFieldEntry writes one of the three fields in one of many spellings.
func genFieldEntry(r *rand.Rand, key string) string {
	k := key
	if r.Intn(8) == 0 {
		k = `"` + key + `"`
	}
	v := pick(r, valuePool)
	if strings.Contains(v, "\n") {
		v = "x"
	}
	comment := ""
	if r.Intn(5) == 0 {
		comment = " # note"
	}
	switch r.Intn(11) {
	case 0:
		return k + ": \"\"" + comment + "\n"
	case 1:
		return k + ":" + comment + "\n"
	case 2:
		return k + ": null\n"
	case 3:
		b, _ := json.Marshal(v)
		return k + ": " + string(b) + comment + "\n"
	case 4:
		return k + ": '" + strings.ReplaceAll(v, "'", "''") + "'" + comment + "\n"
	case 5:
		return k + ": |\n  " + pick(r, []string{testKey, "first line"}) + "\n  second line\n"
	case 6:
		return k + ":\n  nested: map\n"
	case 7:
		return k + ": \"multi\n  line\"\n"
	default:
		plain := pick(r, []string{testURL, testKey, testKey2, testSalt, "v1:old", "passphrase", "default", "hashivault://mykey"})
		return k + ": " + plain + comment + "\n"
	}
}

// genConfig writes a config entry with varied content; it returns the text
// and the number of secure values in it.
func genConfig(r *rand.Rand) (string, int) {
	var b strings.Builder
	secure := 0
	b.WriteString("config:\n")
	n := 1 + r.Intn(8)
	for i := 0; i < n; i++ {
		switch r.Intn(13) {
		case 0:
			fmt.Fprintf(&b, "  proj:key%d: value %d\n", i, i)
		case 1:
			fmt.Fprintf(&b, "  proj:secret%d:\n    secure: v1:AAAA%d=\n", i, i)
			secure++
		case 2:
			fmt.Fprintf(&b, "  \"proj:quoted %d\": \"x: y\"\n", i)
		case 3:
			fmt.Fprintf(&b, "  proj:nested%d:\n    a: 1\n    b:\n      - x\n      - secure: v1:BB=\n      - c: {secure: v1:CC=}\n", i)
			secure += 2
		case 4:
			fmt.Fprintf(&b, "  proj:block%d: |\n    line\n    # not a comment\n\n    after blank\n", i)
		case 5:
			fmt.Fprintf(&b, "  proj:list%d:\n  - a\n  - b\n", i)
		case 6:
			fmt.Fprintf(&b, "  proj:flow%d: {a: 1, b: [x, y], s: {secure: v1:F=}}\n", i)
			secure++
		case 7:
			b.WriteString("  # config comment\n")
		case 8:
			b.WriteString("\n")
		case 9:
			fmt.Fprintf(&b, "  proj:multi%d: \"first\n    # second line\n    third\"\n", i)
		case 10:
			fmt.Fprintf(&b, "  proj:folded%d: >-\n    folded\n    text\n", i)
		case 11:
			fmt.Fprintf(&b, "  proj:ws%d:\tspaced  \t\n  # tabbed\tcomment \n", i)
		default:
			fmt.Fprintf(&b, "  aws:region%d: us-west-2 # inline\n", i)
		}
	}
	return b.String(), secure
}

// genYAMLFile generates a settings file as chunks.
func genYAMLFile(r *rand.Rand) ([]genChunk, int) {
	var chunks []genChunk
	other := func(s string) { chunks = append(chunks, genChunk{text: s}) }
	if r.Intn(3) == 0 {
		other("# Pulumi stack settings\n# generated\n")
		if r.Intn(2) == 0 {
			other("\n")
		}
	}
	if r.Intn(5) == 0 {
		other("---\n")
	}
	var entries []genChunk
	for _, k := range fieldKeys {
		if r.Intn(2) == 0 {
			entries = append(entries, genChunk{text: genFieldEntry(r, k), field: true})
		}
	}
	secure := 0
	if r.Intn(5) != 0 {
		c, n := genConfig(r)
		entries = append(entries, genChunk{text: c})
		secure = n
	}
	if r.Intn(3) == 0 {
		entries = append(entries, genChunk{text: pick(r, []string{
			"environment:\n  - dev-env\n", "environment:\n  imports:\n    - base\n", "environment: [a, b]\n"})})
	}
	for i := r.Intn(3); i > 0; i-- {
		entries = append(entries, genChunk{text: pick(r, []string{
			"extra%d: 42\n", "\"quoted key %d\": 'v'\n", "other%d:\n  nested: true\n", "text%d: >\n  folded\n",
		})})
		entries[len(entries)-1].text = fmt.Sprintf(entries[len(entries)-1].text, len(entries))
	}
	r.Shuffle(len(entries), func(i, j int) { entries[i], entries[j] = entries[j], entries[i] })
	for _, e := range entries {
		for i := r.Intn(3); i > 0; i-- {
			other(pick(r, []string{"\n", "# comment\n", " # indented comment\n"}))
		}
		chunks = append(chunks, e)
	}
	if r.Intn(4) == 0 {
		other("# foot\n")
	}
	return chunks, secure
}

var fieldLineRE = regexp.MustCompile(`^"?(secretsprovider|encryptedkey|encryptionsalt)"?\s*:`)

// stripFieldLines deletes the three fields' entries from a YAML file by a
// plain textual rule, independent of the code under test: an entry is a line
// starting with one of the keys and the indented, non-blank, non-comment
// lines after it. The file keeps or lacks a final line break as before.
func stripFieldLines(s string) string {
	type line struct{ text, eol string }
	var lines []line
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, line{text: s})
			break
		}
		text, eol := s[:i], "\n"
		if strings.HasSuffix(text, "\r") {
			text, eol = text[:i-1], "\r\n"
		}
		lines = append(lines, line{text, eol})
		s = s[i+1:]
	}
	noFinal := len(lines) > 0 && lines[len(lines)-1].eol == ""
	var out []line
	for i := 0; i < len(lines); i++ {
		if !fieldLineRE.MatchString(lines[i].text) {
			out = append(out, lines[i])
			continue
		}
		for i+1 < len(lines) {
			next := lines[i+1].text
			t := strings.TrimLeft(next, " \t")
			if next == t || t == "" || strings.HasPrefix(t, "#") {
				break
			}
			i++
		}
	}
	var b strings.Builder
	for i, l := range out {
		b.WriteString(l.text)
		if i < len(out)-1 || !noFinal {
			b.WriteString(l.eol)
		}
	}
	return b.String()
}

func randomWant(r *rand.Rand) Fields {
	var f [3]string
	switch r.Intn(4) {
	case 0:
		return cloud
	case 1:
		return passphrase
	}
	for i := range f {
		if r.Intn(5) < 2 {
			f[i] = pick(r, valuePool)
		}
	}
	return fieldsFromArray(f)
}

// equivalent compares fields as Pulumi would: a secretsprovider of
// passphrase or default is the same as none when none is wanted.
func equivalent(got, want Fields) bool {
	if want.SecretsProvider == "" && unsetProvider(got.SecretsProvider) {
		got.SecretsProvider = ""
	}
	return got == want
}

// checkEditProperties checks properties (a)-(c) of an edit that succeeded.
func checkEditProperties(t *testing.T, in, out []byte, want Fields, opts EditOptions, strip func([]byte) (string, error)) {
	t.Helper()
	got, err := ReadFields(out, opts.Format)
	if err != nil {
		t.Fatalf("ReadFields(output): %v\noutput:\n%s", err, out)
	}
	if !equivalent(got, want) {
		t.Fatalf("(a) output fields %+v, want %+v\ninput:\n%s\noutput:\n%s", got, want, in, out)
	}
	a, errA := strip(in)
	b, errB := strip(out)
	if errA == nil && errB == nil && a != b && opts.Format == FormatYAML {
		if eol := strings.TrimPrefix(b, a); (eol == "\n" || eol == "\r\n") && !bytes.HasSuffix(in, []byte("\n")) {
			// Edit adds the missing final line break only when a block
			// scalar would otherwise change value.
			if otherValues(t, in) != otherValues(t, out[:len(out)-len(eol)]) {
				b = a
			}
		}
	}
	if opts.Format == FormatYAML && otherValues(t, in) != otherValues(t, out) {
		t.Fatalf("(b) other values changed\ninput:\n%q\noutput:\n%q", in, out)
	}
	if errA != nil || errB != nil || a != b {
		t.Fatalf("(b) other lines changed (%v, %v)\ninput:\n%q\noutput:\n%q\nstripped input:\n%q\nstripped output:\n%q", errA, errB, in, out, a, b)
	}
	for _, force := range []bool{false, true} {
		again, res, err := Edit(out, want, EditOptions{Format: opts.Format, Force: force})
		if err != nil || res.Action != ActionUnchanged || !bytes.Equal(again, out) {
			t.Fatalf("(c) second edit (force %v): %v, %v\noutput:\n%s\nagain:\n%s", force, res.Action, err, out, again)
		}
	}
}

// otherValues returns the values of a YAML settings file's top-level keys
// other than the three fields, as Pulumi's YAML decoder reads them.
func otherValues(t *testing.T, data []byte) string {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return "invalid: " + err.Error()
	}
	for _, k := range fieldKeys {
		delete(m, k)
	}
	if len(m) == 0 {
		return "{}"
	}
	return fmt.Sprintf("%#v", m)
}

func TestEditYAMLProperties(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	strip := func(b []byte) (string, error) { return stripFieldLines(string(b)), nil }
	conflicts := 0
	for n := 0; n < 600; n++ {
		chunks, secure := genYAMLFile(r)
		var b strings.Builder
		for _, c := range chunks {
			b.WriteString(c.text)
		}
		in := b.String()
		if r.Intn(5) == 0 {
			in = strings.ReplaceAll(in, "\n", "\r\n")
		}
		if r.Intn(7) == 0 {
			in = strings.TrimRight(in, "\r\n")
		}
		want := randomWant(r)
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			// With Force: (a), (b), (c).
			opts := EditOptions{Format: FormatYAML, Force: true}
			out, res, err := Edit([]byte(in), want, opts)
			if err != nil {
				t.Fatalf("forced edit: %v\ninput:\n%s", err, in)
			}
			if res.SecureValues != secure {
				t.Errorf("SecureValues = %d, want %d\ninput:\n%s", res.SecureValues, secure, in)
			}
			checkEditProperties(t, []byte(in), out, want, opts, strip)
			// (e) Parsing in batches of one entry changes nothing.
			for _, force := range []bool{true, false} {
				o := EditOptions{Format: FormatYAML, Force: force}
				want1, res1, err1 := Edit([]byte(in), want, o)
				got1, res2, err2 := edit([]byte(in), want, o, 1)
				if !bytes.Equal(want1, got1) || fmt.Sprint(err1) != fmt.Sprint(err2) || fmt.Sprint(res1) != fmt.Sprint(res2) {
					t.Fatalf("(e) force %v: batches of one gave %q, %v; one batch %q, %v", force, got1, err2, want1, err1)
				}
			}

			// (d) Without force: a conflict leaves the bytes alone, or the
			// edit has the same properties.
			opts.Force = false
			out2, res2, err := Edit([]byte(in), want, opts)
			if err != nil {
				if !errors.Is(err, ErrConflict) || res2.Action != ActionConflict || !bytes.Equal(out2, []byte(in)) || len(res2.Conflicts) == 0 {
					t.Fatalf("(d) unforced edit: %v, %+v\ninput:\n%s\noutput:\n%s", err, res2, in, out2)
				}
				conflicts++
				return
			}
			if !bytes.Equal(out, out2) {
				t.Fatalf("(d) unforced edit without conflict differs from forced one\nforced:\n%s\nunforced:\n%s", out, out2)
			}
			checkEditProperties(t, []byte(in), out2, want, opts, strip)
		})
	}
	t.Logf("%d of 600 generated files conflicted without force", conflicts)
	if conflicts == 0 || conflicts == 600 {
		t.Errorf("generator produced %d conflicts out of 600; want a mix", conflicts)
	}
}

// stripJSONFields lists the members of a JSON object other than the three
// fields, using encoding/json alone.
func stripJSONFields(data []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return "", err
	}
	var parts []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return "", err
		}
		k := tok.(string)
		if strings.EqualFold(k, "secretsprovider") || strings.EqualFold(k, "encryptedkey") || strings.EqualFold(k, "encryptionsalt") {
			continue
		}
		parts = append(parts, k+"="+string(bytes.TrimSpace(raw)))
	}
	if _, err := dec.Token(); err != nil {
		return "", err
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", fmt.Errorf("trailing data: %v", err)
	}
	return strings.Join(parts, "\n"), nil
}

func genJSONFile(r *rand.Rand) string {
	var members []string
	for _, k := range fieldKeys {
		if r.Intn(2) == 0 {
			v := pick(r, []string{`""`, `null`, `1`, `{"a": "b"}`})
			if r.Intn(2) == 0 {
				b, _ := json.Marshal(pick(r, valuePool))
				v = string(b)
			}
			members = append(members, fmt.Sprintf("%q: %s", k, v))
		}
	}
	if r.Intn(4) != 0 {
		members = append(members, `"config": {"p:a": "b", "p:s": {"secure": "v1:x"}, "p:l": [1, {"secure": "v1:y"}]}`)
	}
	if r.Intn(3) == 0 {
		members = append(members, `"environment": ["e1", "e2"]`)
	}
	if r.Intn(3) == 0 {
		members = append(members, `"extra": {"nested": [true, false, null]}`)
	}
	r.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	indent := pick(r, []string{"", "  ", "    ", "\t"})
	nl := "\n"
	if indent == "" {
		nl = ""
	} else if r.Intn(4) == 0 {
		nl = "\r\n"
	}
	s := "{" + nl
	for i, m := range members {
		if i > 0 {
			s += "," + nl
		}
		s += indent + m
	}
	s += nl + "}"
	if r.Intn(2) == 0 {
		s += nl
	}
	return s
}

func TestEditJSONProperties(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for n := 0; n < 300; n++ {
		in := genJSONFile(r)
		want := randomWant(r)
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			opts := EditOptions{Format: FormatJSON, Force: true}
			out, _, err := Edit([]byte(in), want, opts)
			if err != nil {
				t.Fatalf("forced edit: %v\ninput:\n%s", err, in)
			}
			checkEditProperties(t, []byte(in), out, want, opts, stripJSONFields)
			opts.Force = false
			out2, res2, err := Edit([]byte(in), want, opts)
			if err != nil {
				if !errors.Is(err, ErrConflict) || res2.Action != ActionConflict || !bytes.Equal(out2, []byte(in)) {
					t.Fatalf("(d) unforced edit: %v, %+v", err, res2)
				}
				return
			}
			checkEditProperties(t, []byte(in), out2, want, opts, stripJSONFields)
		})
	}
}

func FuzzEdit(f *testing.F) {
	seeds := []string{
		"", "config:\n  test:value: hello\n", "# c\n", "---\n", "{a: 1}", "- a\n",
		"secretsprovider: passphrase\nencryptionsalt: v1:x\n",
		"config:\n  a: |\n    # x\nencryptedkey: \"a\n  # b\"\n",
		"encryptedkey: |2\n    x\n  # c\nconfig: {}\r\n",
		"{\"config\": {}, \"encryptionsalt\": \"v1:x\"}",
		"{}:", // a non-scalar top-level key, once accepted and not read back
	}
	for i, s := range seeds {
		f.Add([]byte(s), testURL, testKey, "", i%2 == 0, strings.HasPrefix(s, "{\""))
		f.Add([]byte(s), "", "", testSalt, i%2 == 1, false)
	}
	f.Fuzz(func(t *testing.T, data []byte, sp, ek, salt string, force, asJSON bool) {
		want := Fields{SecretsProvider: sp, EncryptedKey: ek, EncryptionSalt: salt}
		opts := EditOptions{Force: force}
		if asJSON {
			opts.Format = FormatJSON
		}
		in := bytes.Clone(data)
		out, res, err := Edit(data, want, opts)
		if out1, res1, err1 := edit(data, want, opts, 1); !bytes.Equal(out1, out) || fmt.Sprint(err1) != fmt.Sprint(err) || fmt.Sprint(res1) != fmt.Sprint(res) {
			t.Fatalf("batches of one: %q, %v; one batch: %q, %v", out1, err1, out, err)
		}
		if !bytes.Equal(data, in) {
			t.Fatal("Edit modified its input")
		}
		if err != nil {
			if !bytes.Equal(out, data) {
				t.Fatalf("error %v but output differs from input", err)
			}
			return
		}
		if res.Action == ActionUnchanged && !bytes.Equal(out, data) {
			t.Fatal("unchanged but output differs")
		}
		got, err := ReadFields(out, opts.Format)
		if err != nil && len(out) > 0 {
			// Pulumi reads differently from Edit only for files Edit
			// would refuse; the fields Edit wrote must still read back.
			t.Fatalf("ReadFields(output): %v\noutput: %q", err, out)
		}
		if err == nil && !equivalent(got, want) {
			t.Fatalf("output fields %+v, want %+v\ninput: %q\noutput: %q", got, want, data, out)
		}
		again, res2, err := Edit(out, want, opts)
		if err != nil || res2.Action != ActionUnchanged || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %v %v\ninput: %q\noutput: %q\nagain: %q", res2.Action, err, data, out, again)
		}
	})
}

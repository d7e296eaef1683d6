package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"regexp"
	"strings"
	"testing"
)

// genChunk is a piece of a generated settings file; field says whether it is
// one of the three fields' entries.
type genChunk struct {
	text  string
	field bool
}

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
			// With Force: (a), (b), (c); and (e), in editCompared, parsing
			// in batches of one entry changes nothing.
			opts := editOptions{fileFormat: formatYAML, Force: true}
			out, res, err := editCompared(t, []byte(in), want, opts)
			if err != nil {
				t.Fatalf("forced edit: %v\ninput:\n%s", err, in)
			}
			if res.SecureValues != secure {
				t.Errorf("SecureValues = %d, want %d\ninput:\n%s", res.SecureValues, secure, in)
			}
			checkEditProperties(t, []byte(in), out, want, opts, strip)
			// (d) Without force: a conflict leaves the bytes alone, or the
			// edit has the same properties.
			opts.Force = false
			out2, res2, err := editCompared(t, []byte(in), want, opts)
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

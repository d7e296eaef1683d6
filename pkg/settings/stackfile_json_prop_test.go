package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"strings"
	"testing"
)

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
			opts := editOptions{fileFormat: formatJSON, Force: true}
			out, _, err := edit([]byte(in), want, opts)
			if err != nil {
				t.Fatalf("forced edit: %v\ninput:\n%s", err, in)
			}
			checkEditProperties(t, []byte(in), out, want, opts, stripJSONFields)
			opts.Force = false
			out2, res2, err := edit([]byte(in), want, opts)
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

package settings

import (
	"bytes"
	"fmt"
	"math/rand"
	"reflect"
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

// pick returns one of xs at random.
func pick[T any](r *rand.Rand, xs []T) T { return xs[r.Intn(len(xs))] }

// randomWant returns wanted fields: a cloud or passphrase provider, or
// values drawn from valuePool.
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
func checkEditProperties(t *testing.T, in, out []byte, want Fields, opts editOptions, strip func([]byte) (string, error)) {
	t.Helper()
	got, err := readFields(out, opts.fileFormat)
	if err != nil {
		t.Fatalf("readFields(output): %v\noutput:\n%s", err, out)
	}
	if !equivalent(got, want) {
		t.Fatalf("(a) output fields %+v, want %+v\ninput:\n%s\noutput:\n%s", got, want, in, out)
	}
	a, errA := strip(in)
	b, errB := strip(out)
	if errA == nil && errB == nil && a != b && opts.fileFormat == formatYAML {
		if eol := strings.TrimPrefix(b, a); (eol == "\n" || eol == "\r\n") && !bytes.HasSuffix(in, []byte("\n")) {
			// Edit adds the missing final line break only when a block
			// scalar would otherwise change value.
			if otherValues(t, in) != otherValues(t, out[:len(out)-len(eol)]) {
				b = a
			}
		}
	}
	if opts.fileFormat == formatYAML && otherValues(t, in) != otherValues(t, out) {
		t.Fatalf("(b) other values changed\ninput:\n%q\noutput:\n%q", in, out)
	}
	if errA != nil || errB != nil || a != b {
		t.Fatalf("(b) other lines changed (%v, %v)\ninput:\n%q\noutput:\n%q\nstripped input:\n%q\nstripped output:\n%q", errA, errB, in, out, a, b)
	}
	for _, force := range []bool{false, true} {
		again, res, err := edit(out, want, editOptions{fileFormat: opts.fileFormat, Force: force})
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

// editCompared runs Edit, and edit in batches of one entry, and fails t
// unless the two give the same answer, which it returns.
func editCompared(t testing.TB, data []byte, want Fields, opts editOptions) ([]byte, Result, error) {
	t.Helper()
	out, res, err := edit(data, want, opts)
	out1, res1, err1 := editBatched(data, want, opts, 1)
	if !bytes.Equal(out1, out) || fmt.Sprint(err1) != fmt.Sprint(err) || !reflect.DeepEqual(res1, res) {
		t.Fatalf("in batches of one entry: %q, %+v, %v; in one: %q, %+v, %v", out1, res1, err1, out, res, err)
	}
	return out, res, err
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
		opts := editOptions{Force: force}
		if asJSON {
			opts.fileFormat = formatJSON
		}
		in := bytes.Clone(data)
		out, res, err := editCompared(t, data, want, opts)
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
		got, err := readFields(out, opts.fileFormat)
		if err != nil && len(out) > 0 {
			// Pulumi reads differently from Edit only for files Edit
			// would refuse; the fields Edit wrote must still read back.
			t.Fatalf("readFields(output): %v\noutput: %q", err, out)
		}
		if err == nil && !equivalent(got, want) {
			t.Fatalf("output fields %+v, want %+v\ninput: %q\noutput: %q", got, want, data, out)
		}
		again, res2, err := edit(out, want, opts)
		if err != nil || res2.Action != ActionUnchanged || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %v %v\ninput: %q\noutput: %q\nagain: %q", res2.Action, err, data, out, again)
		}
	})
}

package settings

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const (
	testURL  = "awskms://alias/pulumi-secrets?region=us-west-2"
	testKey  = "AQICAHhZ4H2N0uPxdjVOCcdA5MJZqvsM+Wf/a0cHpuIjm1nvYQ=="
	testKey2 = "AQICAHhOTHERKEYOTHERKEYOTHERKEY=="
	testSalt = "v1:5dYkBw8lBSI=:v1:lX5m8Gd2w0d7u0Rk:WnT6Y3bW4Q2S3Ipp1n0P0g=="
)

var (
	cloud      = Fields{SecretsProvider: testURL, EncryptedKey: testKey}
	passphrase = Fields{EncryptionSalt: testSalt}
	service    = Fields{}
)

func TestFormatFor(t *testing.T) {
	for path, want := range map[string]fileFormat{
		"Pulumi.dev.yaml": formatYAML, "Pulumi.dev.yml": formatYAML, "Pulumi.dev.json": formatJSON,
		"/a/Pulumi.x.JSON": formatJSON, "Pulumi.dev": formatYAML,
	} {
		if got := formatFor(path); got != want {
			t.Errorf("formatFor(%q) = %v, want %v", path, got, want)
		}
	}
}

type editCase struct {
	name    string
	in      string
	want    Fields
	force   bool
	out     string // expected output; "=" means the input, unchanged
	action  Action
	set     []string
	removed []string
	confl   []string
	secure  int
	err     string // substring of the expected error; "conflict" also means ErrConflict
}

func runEditCases(t *testing.T, format fileFormat, tests []editCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Parsing in the smallest batches gives the same answer.
			got, res, err := editCompared(t, []byte(tt.in), tt.want, editOptions{fileFormat: format, Force: tt.force})
			wantOut := tt.out
			if wantOut == "=" {
				wantOut = tt.in
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want one containing %q", err, tt.err)
				}
				if tt.err == "conflict" && !errors.Is(err, ErrConflict) {
					t.Errorf("error %v does not wrap ErrConflict", err)
				}
			} else if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if string(got) != wantOut {
				t.Errorf("output:\n%q\nwant:\n%q", got, wantOut)
			}
			if tt.err != "" && tt.err != "conflict" {
				return
			}
			if res.Action != tt.action {
				t.Errorf("action = %v, want %v", res.Action, tt.action)
			}
			if !reflect.DeepEqual(res.Set, tt.set) || !reflect.DeepEqual(res.Removed, tt.removed) ||
				!reflect.DeepEqual(res.Conflicts, tt.confl) {
				t.Errorf("set/removed/conflicts = %q/%q/%q, want %q/%q/%q",
					res.Set, res.Removed, res.Conflicts, tt.set, tt.removed, tt.confl)
			}
			if res.SecureValues != tt.secure {
				t.Errorf("secure values = %d, want %d", res.SecureValues, tt.secure)
			}
			// Values never appear in errors.
			if err != nil {
				for _, v := range []string{testKey, testKey2, testSalt, "v1:old"} {
					if strings.Contains(err.Error(), v) {
						t.Errorf("error %q leaks a value", err)
					}
				}
			}
		})
	}
}

var (
	sp  = []string{"secretsprovider"}
	ek  = []string{"encryptedkey"}
	es  = []string{"encryptionsalt"}
	spk = []string{"secretsprovider", "encryptedkey"}
	all = []string{"secretsprovider", "encryptedkey", "encryptionsalt"}
)

func TestReadFields(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		format fileFormat
		want   Fields
		secure int
		err    bool
	}{
		{"empty", "", formatYAML, Fields{}, 0, false},
		{"yaml", "secretsprovider: a\nencryptedkey: 'b'\nencryptionsalt: \"c\"\nconfig:\n  x:\n    secure: s\n  y: [{secure: t}, {secure: u, other: v}]\n",
			formatYAML, Fields{"a", "b", "c"}, 2, false},
		{"flow yaml", "{encryptionsalt: c, config: {x: {secure: s}}}", formatYAML, Fields{EncryptionSalt: "c"}, 1, false},
		{"null reads empty", "encryptedkey: null\n", formatYAML, Fields{}, 0, false},
		{"config key named secure is not a secure value", "config:\n  secure: x\n", formatYAML, Fields{}, 0, false},
		{"map value", "encryptedkey: {a: b}\n", formatYAML, Fields{}, 0, true},
		{"json", `{"secretsprovider": "a", "config": {"x": {"secure": "s"}, "y": [{"secure": "t"}]}}`, formatJSON, Fields{SecretsProvider: "a"}, 2, false},
		{"json number", `{"encryptedkey": 1}`, formatJSON, Fields{}, 0, true},
		{"json config that looks secure is not", `{"config": {"secure": "s"}}`, formatJSON, Fields{}, 0, false},
		{"json secure: last duplicate counts", `{"config": {"a": {"secure": 1, "secure": "s"}, "b": {"secure": "s", "secure": 1}, "c": {"secure": "s", "x": "y"}}}`, formatJSON, Fields{}, 1, false},
		{"json config not an object", `{"config": [{"secure": "s"}]}`, formatJSON, Fields{}, 0, false},
		{"bad yaml", "a: [", formatYAML, Fields{}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readFields([]byte(tt.in), tt.format)
			if (err != nil) != tt.err {
				t.Fatalf("readFields error = %v, want error %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("readFields = %+v, want %+v", got, tt.want)
			}
			if tt.err {
				return
			}
			n, err := secureCount([]byte(tt.in), tt.format)
			if err != nil || n != tt.secure {
				t.Errorf("SecureValues = %d, %v; want %d", n, err, tt.secure)
			}
		})
	}
}

func TestActionString(t *testing.T) {
	for a, want := range map[Action]string{ActionCreated: "created", ActionUpdated: "updated",
		ActionUnchanged: "unchanged", ActionConflict: "conflict", Action(9): "Action(9)"} {
		if a.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(a), a.String(), want)
		}
	}
}

// readFields returns the secrets provider fields of a settings file, read
// the way Pulumi reads them (a null value reads as empty).
func readFields(data []byte, format fileFormat) (Fields, error) {
	if format == formatJSON {
		return readFieldsJSON(data)
	}
	return readFieldsYAML(data)
}

// secureCount counts the secure values ({secure: …}) under the config key
// of a settings file, nested objects and arrays included.
func secureCount(data []byte, format fileFormat) (int, error) {
	if format == formatJSON {
		return secureValuesJSON(data)
	}
	return secureValuesYAML(data)
}

// A .yaml settings file holding a JSON object, which pulumi reads, is
// edited as JSON and stays JSON; a YAML file stays YAML.
func TestEditYAMLFileHoldingJSON(t *testing.T) {
	in := "{\n  \"config\": {\"demo:x\": \"y\"}\n}\n"
	out, r, err := Edit("Pulumi.dev.yaml", []byte(in), Fields{EncryptionSalt: "v1:abc"}, false)
	if err != nil || r.Action != ActionUpdated {
		t.Fatalf("Edit = %q, %+v, %v; want updated", out, r, err)
	}
	got, err := readFields(out, formatJSON)
	if err != nil || got.EncryptionSalt != "v1:abc" || !strings.Contains(string(out), `"demo:x": "y"`) {
		t.Errorf("Edit wrote %q (%+v, %v); want JSON with the salt and the config kept", out, got, err)
	}
	if _, _, err := Edit("Pulumi.dev.yaml", []byte("config:\n  demo:x: y\n"), Fields{EncryptionSalt: "v1:abc"}, false); err != nil {
		t.Errorf("Edit of a YAML file: %v", err)
	}
}

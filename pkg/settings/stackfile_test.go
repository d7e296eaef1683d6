package settings

import (
	"errors"
	"fmt"
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
	for path, want := range map[string]Format{
		"Pulumi.dev.yaml": FormatYAML, "Pulumi.dev.yml": FormatYAML, "Pulumi.dev.json": FormatJSON,
		"/a/Pulumi.x.JSON": FormatJSON, "Pulumi.dev": FormatYAML,
	} {
		if got := FormatFor(path); got != want {
			t.Errorf("FormatFor(%q) = %v, want %v", path, got, want)
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

func runEditCases(t *testing.T, format Format, tests []editCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, res, err := Edit([]byte(tt.in), tt.want, EditOptions{Format: format, Force: tt.force})
			// Parsing in the smallest batches gives the same answer.
			got1, res1, err1 := edit([]byte(tt.in), tt.want, EditOptions{Format: format, Force: tt.force}, 1)
			if string(got1) != string(got) || fmt.Sprint(err1) != fmt.Sprint(err) || !reflect.DeepEqual(res1, res) {
				t.Errorf("in batches of one entry: %q, %+v, %v; in one: %q, %+v, %v", got1, res1, err1, got, res, err)
			}
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

func TestEditYAML(t *testing.T) {
	cloudLines := "secretsprovider: " + testURL + "\nencryptedkey: " + testKey + "\n"
	saltLine := "encryptionsalt: " + testSalt + "\n"
	runEditCases(t, FormatYAML, []editCase{
		{
			name: "seed: regenerated file gets cloud fields before config",
			in:   "config:\n  test:value: hello\n", want: cloud,
			out:    cloudLines + "config:\n  test:value: hello\n",
			action: ActionUpdated, set: spk,
		},
		{
			name: "passphrase salt before config",
			in:   "config:\n  proj:secret:\n    secure: v1:AAA=\n", want: passphrase,
			out:    saltLine + "config:\n  proj:secret:\n    secure: v1:AAA=\n",
			action: ActionUpdated, set: es, secure: 1,
		},
		{
			name: "new file", in: "", want: cloud,
			out: cloudLines, action: ActionCreated, set: spk,
		},
		{
			name: "new passphrase file", in: "", want: passphrase,
			out: saltLine, action: ActionCreated, set: es,
		},
		{
			name: "nothing to write", in: "", want: service,
			out: "", action: ActionUnchanged,
		},
		{
			name: "already right",
			in:   "# keep\n" + cloudLines + "config:\n  a: b\n", want: cloud,
			out: "=", action: ActionUnchanged,
		},
		{
			name: "already right, quoted and commented",
			in:   "secretsprovider: \"" + testURL + "\" # mine\nencryptedkey: '" + testKey + "'\n", want: cloud,
			out: "=", action: ActionUnchanged,
		},
		{
			name: "service removes empty fields",
			in:   "encryptedkey: \"\"\nconfig:\n  a: b\nencryptionsalt:\n", want: service,
			out:    "config:\n  a: b\n",
			action: ActionUpdated, removed: []string{"encryptedkey", "encryptionsalt"},
		},
		{
			name: "service conflicts with set fields",
			in:   cloudLines + saltLine, want: service,
			out: "=", action: ActionConflict, confl: all, err: "conflict",
		},
		{
			name: "service with force removes all three",
			in:   "# top\n\n" + cloudLines + "# about salt\n" + saltLine + "config:\n  a: b\n", want: service, force: true,
			out:    "# top\n\n# about salt\nconfig:\n  a: b\n",
			action: ActionUpdated, removed: all, confl: all,
		},
		{
			name: "different key conflicts",
			in:   cloudLines + "config:\n  a: b\n", want: Fields{SecretsProvider: testURL, EncryptedKey: testKey2},
			out: "=", action: ActionConflict, confl: ek, err: "conflict",
		},
		{
			name: "different key with force",
			in:   cloudLines + "config:\n  a: b\n", want: Fields{SecretsProvider: testURL, EncryptedKey: testKey2}, force: true,
			out:    "secretsprovider: " + testURL + "\nencryptedkey: " + testKey2 + "\nconfig:\n  a: b\n",
			action: ActionUpdated, set: ek, confl: ek,
		},
		{
			name: "salt conflicts with cloud",
			in:   "encryptionsalt: v1:old\nconfig:\n  a: b\n", want: cloud,
			out: "=", action: ActionConflict, confl: es, err: "conflict",
		},
		{
			name: "salt replaced by cloud with force",
			in:   "encryptionsalt: v1:old\nconfig:\n  a: b\n", want: cloud, force: true,
			out:    cloudLines + "config:\n  a: b\n",
			action: ActionUpdated, set: spk, removed: es, confl: es,
		},
		{
			name: "cloud fields conflict with passphrase",
			in:   cloudLines, want: passphrase,
			out: "=", action: ActionConflict, confl: spk, err: "conflict",
		},
		{
			name: "secretsprovider passphrase kept for passphrase",
			in:   "secretsprovider: passphrase\n" + saltLine + "config: {}\n", want: passphrase,
			out: "=", action: ActionUnchanged,
		},
		{
			name: "secretsprovider passphrase kept, salt added after it",
			in:   "secretsprovider: passphrase\nconfig:\n  a: b\n", want: passphrase,
			out:    "secretsprovider: passphrase\n" + saltLine + "config:\n  a: b\n",
			action: ActionUpdated, set: es,
		},
		{
			name: "secretsprovider default kept for service",
			in:   "secretsprovider: default\n", want: service,
			out: "=", action: ActionUnchanged,
		},
		{
			name: "secretsprovider passphrase replaced by cloud without conflict",
			in:   "secretsprovider: passphrase # was\nconfig:\n  a: b\n", want: cloud,
			out:    "secretsprovider: " + testURL + " # was\nencryptedkey: " + testKey + "\nconfig:\n  a: b\n",
			action: ActionUpdated, set: spk,
		},
		{
			name: "secretsprovider default replaced by cloud",
			in:   "secretsprovider: default\nencryptedkey: \"\"\n", want: cloud,
			out: cloudLines, action: ActionUpdated, set: spk,
		},
		{
			name: "missing key inserted after provider, before its neighbour's comment",
			in:   "secretsprovider: " + testURL + "\n# the config\nconfig:\n  a: b\n", want: cloud,
			out:    cloudLines + "# the config\nconfig:\n  a: b\n",
			action: ActionUpdated, set: ek,
		},
		{
			name: "missing provider inserted before key and its comment",
			in:   "config:\n  a: b\n\n# data key\nencryptedkey: " + testKey + "\n", want: cloud,
			out:    "config:\n  a: b\n\nsecretsprovider: " + testURL + "\n# data key\nencryptedkey: " + testKey + "\n",
			action: ActionUpdated, set: sp,
		},
		{
			name: "leading comment block kept above, attached comment kept with config",
			in:   "# Settings for dev.\n# Second line.\n\n# Attached to config.\nconfig:\n  a: b # inline\n# foot\n", want: cloud,
			out:    "# Settings for dev.\n# Second line.\n\n" + cloudLines + "# Attached to config.\nconfig:\n  a: b # inline\n# foot\n",
			action: ActionUpdated, set: spk,
		},
		{
			name: "comment directly on top goes with the first key",
			in:   "# about config\nconfig:\n  a: b\n", want: passphrase,
			out:    saltLine + "# about config\nconfig:\n  a: b\n",
			action: ActionUpdated, set: es,
		},
		{
			name: "after document marker",
			in:   "# file\n---\n# cfg\nconfig:\n  a: b\n...\n", want: passphrase,
			out:    "# file\n---\n" + saltLine + "# cfg\nconfig:\n  a: b\n...\n",
			action: ActionUpdated, set: es,
		},
		{
			name: "comment-only document: append",
			in:   "# nothing yet\n", want: cloud,
			out:    "# nothing yet\n" + cloudLines,
			action: ActionUpdated, set: spk,
		},
		{
			name: "document marker only",
			in:   "---\n", want: passphrase,
			out:    "---\n" + saltLine,
			action: ActionUpdated, set: es,
		},
		{
			name: "CRLF kept and used for new lines",
			in:   "# c\r\n\r\nconfig:\r\n  a: b\r\nencryptionsalt: v1:old\r\n", want: cloud, force: true,
			out:    "# c\r\n\r\nsecretsprovider: " + testURL + "\r\nencryptedkey: " + testKey + "\r\nconfig:\r\n  a: b\r\n",
			action: ActionUpdated, set: spk, removed: es, confl: es,
		},
		{
			name: "no final newline kept",
			in:   "config:\n  a: b", want: passphrase,
			out:    saltLine + "config:\n  a: b",
			action: ActionUpdated, set: es,
		},
		{
			name: "no final newline, last entry removed",
			in:   "config:\n  a: b\nencryptionsalt: v1:old", want: cloud, force: true,
			out:    cloudLines + "config:\n  a: b",
			action: ActionUpdated, set: spk, removed: es, confl: es,
		},
		{
			name: "no final newline, append",
			in:   "# c", want: passphrase,
			out:    "# c\n" + strings.TrimSuffix(saltLine, "\n"),
			action: ActionUpdated, set: es,
		},
		{
			name: "block scalar value with comment-like lines removed whole",
			in:   "config:\n  a: b\nencryptedkey: |\n  # not a comment\n  AAAA\n\n# real comment\nenvironment:\n  - dev\n", want: passphrase, force: true,
			out:    saltLine + "config:\n  a: b\n\n# real comment\nenvironment:\n  - dev\n",
			action: ActionUpdated, set: es, removed: ek, confl: ek,
		},
		{
			name: "multi-line quoted value removed whole",
			in:   "encryptionsalt: \"v1:a\n  # still the value\n  b\"\n  # indented comment\nconfig: {}\n", want: cloud, force: true,
			out:    cloudLines + "  # indented comment\nconfig: {}\n",
			action: ActionUpdated, set: spk, removed: es, confl: es,
		},
		{
			name: "config block scalars, quoted keys, secure values untouched",
			in: "config:\n  \"proj:quoted\": 'x'\n  proj:cert: |\n    -----BEGIN-----\n    # inside\n\n    -----END-----\n" +
				"  proj:list:\n  - secure: v1:Q=\n  - plain\n  proj:obj:\n    inner:\n      secure: v1:R=\n  proj:s:\n    secure: v1:S=\n" +
				"environment:\n  imports:\n    - base\n",
			want: cloud,
			out: cloudLines + "config:\n  \"proj:quoted\": 'x'\n  proj:cert: |\n    -----BEGIN-----\n    # inside\n\n    -----END-----\n" +
				"  proj:list:\n  - secure: v1:Q=\n  - plain\n  proj:obj:\n    inner:\n      secure: v1:R=\n  proj:s:\n    secure: v1:S=\n" +
				"environment:\n  imports:\n    - base\n",
			action: ActionUpdated, set: spk, secure: 3,
		},
		{
			name: "indented top level",
			in:   "  config:\n    a: b\n", want: passphrase,
			out:    "  " + saltLine + "  config:\n    a: b\n",
			action: ActionUpdated, set: es,
		},
		{
			name: "byte order mark kept first",
			in:   "\ufeffconfig:\n  a: b\n", want: passphrase,
			out:    "\ufeff" + saltLine + "config:\n  a: b\n",
			action: ActionUpdated, set: es,
		},
		{
			name: "values needing quotes",
			in:   "", want: Fields{SecretsProvider: "true", EncryptedKey: "#x: y"},
			out:    "secretsprovider: \"true\"\nencryptedkey: '#x: y'\n",
			action: ActionCreated, set: spk,
		},
		{
			name: "non-string value conflicts",
			in:   "encryptedkey:\n  nested: map\n", want: cloud,
			out: "=", action: ActionConflict, confl: ek, err: "conflict",
		},
		{
			name: "untouched lines keep trailing spaces and tabs",
			in:   "# head \t\nconfig:\t\n  a:\tb  \n  c: \"x\ty\"\t# tab\n# tail\t \nenvironment: [e]   \n", want: passphrase,
			out:    saltLine + "# head \t\nconfig:\t\n  a:\tb  \n  c: \"x\ty\"\t# tab\n# tail\t \nenvironment: [e]   \n",
			action: ActionUpdated, set: es,
		},
		{
			name: "anchors and aliases in config kept",
			in:   "config:\n  p:a: &x v1\n  p:b: *x\n  p:c: &m {secure: v1:AA=}\n  p:d: *m\n", want: passphrase,
			out:    saltLine + "config:\n  p:a: &x v1\n  p:b: *x\n  p:c: &m {secure: v1:AA=}\n  p:d: *m\n",
			action: ActionUpdated, set: es, secure: 1,
		},
		{
			name: "alias to an anchor in another top-level entry kept",
			in:   "base: &b\n  x: 1\nconfig: *b\n", want: passphrase,
			out:    saltLine + "base: &b\n  x: 1\nconfig: *b\n",
			action: ActionUpdated, set: es,
		},
		{
			name: "field held through an alias conflicts",
			in:   "encryptionsalt: &s v1:old\nconfig:\n  a: *s\n", want: passphrase,
			out: "=", action: ActionConflict, confl: es, err: "conflict",
		},
		{name: "alias to no anchor", in: "config:\n  a: *nope\n", want: cloud, out: "=", err: "unknown anchor"},
		{
			name: "mixed line endings kept, first break used for new lines",
			in:   "config:\r\n  a: b\n  c: d\r\n", want: passphrase,
			out:    "encryptionsalt: " + testSalt + "\r\nconfig:\r\n  a: b\n  c: d\r\n",
			action: ActionUpdated, set: es,
		},
		{
			name: "byte order mark with CRLF",
			in:   "\ufeffconfig:\r\n  a: b\r\n", want: passphrase,
			out:    "\ufeffencryptionsalt: " + testSalt + "\r\nconfig:\r\n  a: b\r\n",
			action: ActionUpdated, set: es,
		},
		{name: "second byte order mark", in: "\ufeff\ufeffconfig:\n  a: b\n", want: cloud, out: "=", err: "cannot edit this file safely"},
		{name: "flow mapping", in: "{config: {a: b}}\n", want: cloud, out: "=", err: "flow mapping"},
		{name: "sequence", in: "- a\n", want: cloud, out: "=", err: "sequence"},
		{name: "scalar", in: "hello\n", want: cloud, out: "=", err: "scalar"},
		{name: "duplicate keys", in: "config: {}\nconfig: {}\n", want: cloud, out: "=", err: "duplicate"},
		{name: "duplicate field", in: "encryptionsalt: a\n\"encryptionsalt\": b\n", want: cloud, out: "=", err: "duplicate"},
		{name: "bad yaml", in: "config:\n  a: [b\n", want: cloud, out: "=", err: "not valid YAML"},
		{name: "two documents", in: "config: {}\n---\nconfig: {}\n", want: cloud, out: "=", err: "more than one"},
		{name: "merge key", in: "base: &b\n  x: 1\n<<: *b\n", want: cloud, out: "=", err: "merge"},
		{name: "invalid UTF-8 wanted", in: "", want: Fields{SecretsProvider: "\xff"}, out: "=", err: "UTF-8"},
	})
}

func TestEditJSON(t *testing.T) {
	runEditCases(t, FormatJSON, []editCase{
		{
			name: "new file", in: "", want: cloud,
			out:    "{\n    \"secretsprovider\": \"" + testURL + "\",\n    \"encryptedkey\": \"" + testKey + "\"\n}\n",
			action: ActionCreated, set: spk,
		},
		{
			name: "insert first with the file's indent",
			in:   "{\n\t\"config\": {\n\t\t\"p:a\": {\"secure\": \"v1:x\"}\n\t}\n}", want: passphrase,
			out:    "{\n\t\"encryptionsalt\": \"" + testSalt + "\",\n\t\"config\": {\n\t\t\"p:a\": {\"secure\": \"v1:x\"}\n\t}\n}",
			action: ActionUpdated, set: es, secure: 1,
		},
		{
			name: "compact object",
			in:   `{"config":{"a":"b"}}`, want: cloud,
			out:    `{"secretsprovider":"` + testURL + `","encryptedkey":"` + testKey + `","config":{"a":"b"}}`,
			action: ActionUpdated, set: spk,
		},
		{
			name: "insert after existing provider",
			in:   "{\r\n  \"secretsprovider\": \"" + testURL + "\",\r\n  \"config\": {}\r\n}\r\n", want: cloud,
			out:    "{\r\n  \"secretsprovider\": \"" + testURL + "\",\r\n  \"encryptedkey\": \"" + testKey + "\",\r\n  \"config\": {}\r\n}\r\n",
			action: ActionUpdated, set: ek,
		},
		{
			name: "unchanged",
			in:   "{ \"encryptionsalt\" : \"" + testSalt + "\" }", want: passphrase,
			out: "=", action: ActionUnchanged,
		},
		{
			name: "conflict",
			in:   "{\"encryptionsalt\": \"v1:old\"}", want: passphrase,
			out: "=", action: ActionConflict, confl: es, err: "conflict",
		},
		{
			name: "force removes last member",
			in:   "{\n    \"config\": {\"a\": 1},\n    \"encryptionsalt\": \"v1:old\"\n}\n", want: service, force: true,
			out:    "{\n    \"config\": {\"a\": 1}\n}\n",
			action: ActionUpdated, removed: es, confl: es,
		},
		{
			name: "removes first member, null value",
			in:   "{\n    \"encryptedkey\": null,\n    \"config\": {}\n}", want: service,
			out:    "{\n    \"config\": {}\n}",
			action: ActionUpdated, removed: ek,
		},
		{
			name: "replace in place keeps key spelling",
			in:   "{\"SecretsProvider\": \"passphrase\", \"EncryptedKey\": \"\"}", want: cloud,
			out:    "{\"SecretsProvider\": \"" + testURL + "\", \"EncryptedKey\": \"" + testKey + "\"}",
			action: ActionUpdated, set: spk,
		},
		{
			name: "HTML characters escaped like pulumi",
			in:   "{}", want: Fields{SecretsProvider: "awskms://k?region=r&x=<y>", EncryptedKey: "k"},
			out:    "{\n    \"secretsprovider\": \"awskms://k?region=r\\u0026x=\\u003cy\\u003e\",\n    \"encryptedkey\": \"k\"\n}",
			action: ActionUpdated, set: spk,
		},
		{name: "not an object", in: "[1]", want: cloud, out: "=", err: "not a JSON object"},
		{name: "invalid", in: "{\"a\": }", want: cloud, out: "=", err: "not valid JSON"},
		{name: "trailing data", in: "{} {}", want: cloud, out: "=", err: "after the top-level"},
		{name: "duplicate", in: `{"a": 1, "a": 2}`, want: cloud, out: "=", err: "duplicate"},
		{name: "duplicate field by case", in: `{"encryptedkey": "a", "EncryptedKey": "b"}`, want: cloud, out: "=", err: "duplicate"},
	})
}

func TestReadFields(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		format Format
		want   Fields
		secure int
		err    bool
	}{
		{"empty", "", FormatYAML, Fields{}, 0, false},
		{"yaml", "secretsprovider: a\nencryptedkey: 'b'\nencryptionsalt: \"c\"\nconfig:\n  x:\n    secure: s\n  y: [{secure: t}, {secure: u, other: v}]\n",
			FormatYAML, Fields{"a", "b", "c"}, 2, false},
		{"flow yaml", "{encryptionsalt: c, config: {x: {secure: s}}}", FormatYAML, Fields{EncryptionSalt: "c"}, 1, false},
		{"null reads empty", "encryptedkey: null\n", FormatYAML, Fields{}, 0, false},
		{"config key named secure is not a secure value", "config:\n  secure: x\n", FormatYAML, Fields{}, 0, false},
		{"map value", "encryptedkey: {a: b}\n", FormatYAML, Fields{}, 0, true},
		{"json", `{"secretsprovider": "a", "config": {"x": {"secure": "s"}, "y": [{"secure": "t"}]}}`, FormatJSON, Fields{SecretsProvider: "a"}, 2, false},
		{"json number", `{"encryptedkey": 1}`, FormatJSON, Fields{}, 0, true},
		{"json config that looks secure is not", `{"config": {"secure": "s"}}`, FormatJSON, Fields{}, 0, false},
		{"json secure: last duplicate counts", `{"config": {"a": {"secure": 1, "secure": "s"}, "b": {"secure": "s", "secure": 1}, "c": {"secure": "s", "x": "y"}}}`, FormatJSON, Fields{}, 1, false},
		{"json config not an object", `{"config": [{"secure": "s"}]}`, FormatJSON, Fields{}, 0, false},
		{"bad yaml", "a: [", FormatYAML, Fields{}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadFields([]byte(tt.in), tt.format)
			if (err != nil) != tt.err {
				t.Fatalf("ReadFields error = %v, want error %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("ReadFields = %+v, want %+v", got, tt.want)
			}
			if tt.err {
				return
			}
			n, err := SecureValues([]byte(tt.in), tt.format)
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

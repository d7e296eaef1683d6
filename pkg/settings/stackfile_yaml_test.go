package settings

import (
	"strings"
	"testing"
)

func TestEditYAML(t *testing.T) {
	cloudLines := "secretsprovider: " + testURL + "\nencryptedkey: " + testKey + "\n"
	saltLine := "encryptionsalt: " + testSalt + "\n"
	runEditCases(t, formatYAML, []editCase{
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

package settings

import "testing"

func TestEditJSON(t *testing.T) {
	runEditCases(t, formatJSON, []editCase{
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

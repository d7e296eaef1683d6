package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// examplePhrase opens exampleSalt, a salt the real pulumi v3.274.1 wrote
// (examples/backend, stack staging).
const (
	exampleSalt   = "v1:OrdgPgnyLI4=:v1:ZbyVyQ8r4jn1Ow1c:joNUUWtVSK2jNJehQJviFBrR0XuQMA=="
	examplePhrase = "correct horse battery staple"
)

// runWithPhrase runs a command of f's project with PULUMI_CONFIG_PASSPHRASE
// set to phrase (unset when phrase is nil).
func (f *fixture) runWithPhrase(t *testing.T, phrase *string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) {
		if k == "PULUMI_CONFIG_PASSPHRASE" && phrase != nil {
			return *phrase, true
		}
		return "", false
	}
	e := &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, lookupEnv: lookup, home: f.root, cwd: f.project}
	code := run(context.Background(), append(args, "--backend", "file://"+f.backend), e)
	return code, out.String(), errb.String()
}

func TestVerifyCommand(t *testing.T) {
	cp := strings.Replace(passphraseCheckpoint("dev"), salt, exampleSalt, 1)
	right, wrong := examplePhrase, "not it"
	tests := []struct {
		name       string
		phrase     *string
		args       []string
		wantCode   int
		wantOut    string // in stdout
		wantStatus string // of the JSON verdict, when -o json
		wantReason string
	}{
		{"no stack", &right, []string{"verify"}, exitUsage, "", "", ""},
		{"stacks and --all", &right, []string{"verify", "--all", "dev"}, exitUsage, "", "", ""},
		{"bad output", &right, []string{"verify", "-o", "xml", "dev"}, exitUsage, "", "", ""},
		{"settings file missing", &right, []string{"verify", "-o", "json", "dev"}, exitDrift, "", "fail", "settings-missing"},
		{"stack not in backend", &right, []string{"verify", "-o", "json", "prod"}, exitError, "", "error", "stack-not-found"},
		{"restore --verify, right passphrase", &right, []string{"restore", "--verify", "dev"}, exitOK, "dev: verify: ok (passphrase-correct)", "", ""},
		{"restore --verify, wrong passphrase", &wrong, []string{"restore", "--verify", "dev"}, exitDrift, "dev: verify: fail (passphrase-wrong)", "", ""},
		{"restore --verify, no passphrase", nil, []string{"restore", "--verify", "-o", "json", "dev"}, exitDrift, `"reason": "passphrase-missing"`, "", ""},
		{"restore --dry-run --verify", &right, []string{"restore", "--dry-run", "--verify", "dev"}, exitOK, "dev: verify: ok", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": cp})
			code, out, errs := f.runWithPhrase(t, tt.phrase, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errs)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantOut, out)
			}
			if strings.Contains(out+errs, examplePhrase) {
				t.Errorf("output holds the passphrase:\n%s%s", out, errs)
			}
			if tt.wantStatus == "" {
				return
			}
			var res []verifyResult
			if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 {
				t.Fatalf("stdout is not one JSON verdict (%v):\n%s", err, out)
			}
			if res[0].Status != tt.wantStatus || res[0].Reason != tt.wantReason {
				t.Errorf("verdict %s (%s), want %s (%s): %s", res[0].Status, res[0].Reason, tt.wantStatus, tt.wantReason, res[0].Message)
			}
		})
	}
}

package secrets

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pulumiSalt is the salt the real pulumi v3.274.1 wrote for the example
// stack "staging" (examples/backend/.pulumi/stacks/demo/staging.json) with
// the passphrase pulumiPhrase.
const (
	pulumiSalt   = "v1:OrdgPgnyLI4=:v1:ZbyVyQ8r4jn1Ow1c:joNUUWtVSK2jNJehQJviFBrR0XuQMA=="
	pulumiPhrase = "correct horse battery staple"
)

func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestReadPassphrase(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pass.txt"), []byte("  "+pulumiPhrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(dir, "pass.txt")
	tests := []struct {
		name       string
		lookup     func(string) (string, bool)
		dir        string
		wantPhrase string
		wantSource string
		wantErr    error
	}{
		{"variable", env(EnvPassphrase, "p1"), "", "p1", EnvPassphrase, nil},
		{"empty variable is the empty passphrase", env(EnvPassphrase, ""), "", "", EnvPassphrase, nil},
		{"variable wins over file", env(EnvPassphrase, "p1", EnvPassphraseFile, abs), "", "p1", EnvPassphrase, nil},
		{"file, trimmed", env(EnvPassphraseFile, abs), "", pulumiPhrase, EnvPassphraseFile + " " + abs, nil},
		{"relative file", env(EnvPassphraseFile, "pass.txt"), dir, pulumiPhrase, EnvPassphraseFile + " " + abs, nil},
		{"empty file variable is unset", env(EnvPassphraseFile, ""), "", "", "", ErrNoPassphrase},
		{"neither", env(), "", "", "", ErrNoPassphrase},
		{"unreadable file", env(EnvPassphraseFile, filepath.Join(dir, "nope")), "", "", "", ErrPassphraseFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := readPassphrase(t.Context(), tt.lookup, tt.dir)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if p.phrase != tt.wantPhrase || p.Source != tt.wantSource {
				t.Errorf("got (%q, %q), want (%q, %q)", p.phrase, p.Source, tt.wantPhrase, tt.wantSource)
			}
		})
	}
}

func TestCheckPassphrase(t *testing.T) {
	tests := []struct {
		name, salt, phrase string
		want               error
	}{
		{"pulumi's salt, right passphrase", pulumiSalt, pulumiPhrase, nil},
		{"wrong passphrase", pulumiSalt, "wrong", ErrIncorrectPassphrase},
		{"untrimmed passphrase is another", pulumiSalt, pulumiPhrase + " ", ErrIncorrectPassphrase},
		{"check value tampered", strings.Replace(pulumiSalt, "joNU", "joNV", 1), pulumiPhrase, ErrIncorrectPassphrase},
		{"check value malformed", "v1:OrdgPgnyLI4=:v1:xx", pulumiPhrase, ErrIncorrectPassphrase},
		{"two parts", "v1:OrdgPgnyLI4=", pulumiPhrase, ErrBadSalt},
		{"unknown version", "v2:OrdgPgnyLI4=:v1:a:b", pulumiPhrase, ErrBadSalt},
		{"salt not base64", "v1:!!:v1:a:b", pulumiPhrase, ErrBadSalt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkSalt(tt.salt, passphraseValue{phrase: tt.phrase})
			if !errors.Is(err, tt.want) {
				t.Fatalf("checkSalt = %v, want %v", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), tt.phrase) {
				t.Errorf("error %q holds the passphrase", err)
			}
		})
	}
}

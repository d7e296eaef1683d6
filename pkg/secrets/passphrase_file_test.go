//go:build unix

package secrets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/state"
)

// A passphrase file that is not a small regular file is refused at once,
// with one line that names it and says what it is, and never blocks.
func TestReadPassphraseFileBounds(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sparse := filepath.Join(dir, "sparse")
	if err := os.WriteFile(sparse, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(sparse, 1<<30); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte(pulumiPhrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(plain, link); err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		file    string
		wantErr string // "" for the phrase
		is      error
	}{
		{name: "symlink to a regular file", file: link},
		{name: "named pipe", file: fifo, wantErr: fifo + " is a named pipe (FIFO), not a regular file", is: ErrPassphraseFile},
		{name: "/dev/zero", file: "/dev/zero", wantErr: "/dev/zero is a device, not a regular file", is: ErrPassphraseFile},
		{name: "directory", file: dir, wantErr: dir + " is a directory", is: ErrPassphraseFile},
		{name: "1 GiB", file: sparse, wantErr: sparse + " is larger than 1 MiB, the most stacksync reads of a passphrase file", is: ErrPassphraseFile},
		{name: "canceled", ctx: canceled, file: plain, wantErr: plain, is: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			type result struct {
				p   passphraseValue
				err error
			}
			done := make(chan result, 1)
			go func() {
				p, err := readPassphrase(ctx, env(EnvPassphraseFile, tt.file), "")
				done <- result{p, err}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("readPassphrase(%s) blocked", tt.file)
			}
			if tt.wantErr == "" {
				if r.err != nil || r.p.phrase != pulumiPhrase {
					t.Fatalf("readPassphrase = %q, %v; want the phrase", r.p.phrase, r.err)
				}
				return
			}
			if msg := r.err.Error(); !errors.Is(r.err, tt.is) || !strings.Contains(msg, tt.wantErr) || strings.Contains(msg, "\n") {
				t.Errorf("readPassphrase = %v; want one line wrapping %v and holding %q", r.err, tt.is, tt.wantErr)
			}
		})
	}
}

// A passphrase check that a stop cut short is an error, not a finding,
// and is not cached: the next stack with the salt reads the file again.
func TestVerifyPassphraseStopped(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(file, []byte(pulumiPhrase), 0o600); err != nil {
		t.Fatal(err)
	}
	v := &Verifier{LookupEnv: env(EnvPassphraseFile, file)}
	s := state.SecretsProvider{Type: state.TypePassphrase, Salt: pulumiSalt}
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	if r := v.Verify(canceled, s); r.Status != StatusError || !strings.Contains(r.Message, "context canceled") {
		t.Errorf("Verify after a stop = %v; want an error result", r)
	}
	if r := v.Verify(t.Context(), s); r.Status != StatusOK {
		t.Errorf("Verify = %v; want ok", r)
	}
}

package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/pkg/state/storetest"
)

func TestSafe(t *testing.T) {
	tests := []struct{ give, want string }{
		{"", ""},
		{"awskms://alias/x?region=us-west-2", "awskms://alias/x?region=us-west-2"},
		{"é ü 日本", "é ü 日本"},
		{"a\x1b]0;pwned\x07b", `a\x1b]0;pwned\x07b`},
		{"a\x1b[2Jb", `a\x1b[2Jb`},
		{"line\nnext\r\tx", `line\nnext\r\tx`},
		{"del\x7f", `del\x7f`},
		{"c1\u009b31m", `c1\u009b31m`},
		{"bidi\u202eevil", `bidi\u202eevil`},
		{"zw\u200bj", `zw\u200bj`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"\ufffd", "\ufffd"}, // a real replacement character stays
	}
	for _, tt := range tests {
		if got := safe(tt.give); got != tt.want {
			t.Errorf("safe(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestShort(t *testing.T) {
	long := strings.Repeat("x", 5000)
	if got, want := short(long), strings.Repeat("x", 64)+"…(5000 bytes)"; got != want {
		t.Errorf("short(5000 x) = %q, want %q", got, want)
	}
	if got := short("dev\x1b"); got != `dev\x1b` {
		t.Errorf("short does not escape: %q", got)
	}
	if got := short(strings.Repeat("a", 128)); got != strings.Repeat("a", 128) {
		t.Errorf("short cut 128 bytes: %q", got)
	}
	if got := short(strings.Repeat("a", 63) + "é" + strings.Repeat("b", 100)); got != strings.Repeat("a", 63)+"…(165 bytes)" {
		t.Errorf("short split a character: %q", got)
	}
}

// evilJSON is a secrets provider URL holding ESC and BEL bytes, as a JSON
// string holds it: printed raw, it would set the terminal's title and
// clear the screen.
const evilJSON = `awskms://alias/x\u001b]0;pwned\u0007?region=us\u001b[2J`

// evilCheckpoint has the crafted URL and, with key set, an encryptedkey.
func evilCheckpoint(stack string, key bool) string {
	ek := ""
	if key {
		ek = `,"encryptedkey":"` + kmsKey + `"`
	}
	sp := `{"type":"cloud","state":{"url":"` + evilJSON + `"` + ek + `}}`
	return string(storetest.Checkpoint{Version: 3, Stack: "organization/demo/" + stack, Provider: sp}.Build())
}

// assertEscaped fails unless out holds no control byte but newlines, and
// holds the escaped ESC.
func assertEscaped(t *testing.T, what, out string) {
	t.Helper()
	for i := 0; i < len(out); i++ {
		if c := out[i]; (c < 0x20 && c != '\n') || c == 0x7f {
			t.Errorf("%s: raw control byte %#x at %d in %q", what, c, i, out)
			return
		}
	}
	if !strings.Contains(out, `\x1b`) {
		t.Errorf("%s: the crafted value is not shown escaped: %q", what, out)
	}
}

// Every text output a crafted value from state reaches is escaped.
func TestCraftedValuesAreEscaped(t *testing.T) {
	objects := map[string]string{
		".pulumi/stacks/demo/dev.json":                          evilCheckpoint("dev", true),
		".pulumi/stacks/demo/nokey.json":                        evilCheckpoint("nokey", false),
		".pulumi/backups/demo/dev/dev.1700000000000000000.json": evilCheckpoint("dev", true),
	}
	tests := []struct {
		name     string
		args     []string
		settings map[string]string // settings files to write first
		code     int
		stream   string // stdout or stderr
	}{
		{name: "restore", args: []string{"restore", "dev"}, code: exitOK, stream: "stdout"},
		{name: "restore check", args: []string{"restore", "dev", "--check"}, code: exitDrift, stream: "stdout"},
		{name: "restore dry run", args: []string{"restore", "dev", "--dry-run"}, code: exitOK, stream: "stdout"},
		{name: "restore conflict", args: []string{"restore", "dev"}, settings: map[string]string{"dev": "secretsprovider: awskms://alias/other?region=us-west-2\nencryptedkey: abc\n"}, code: exitConflict, stream: "stdout"},
		{name: "restore error", args: []string{"restore", "nokey"}, code: exitError, stream: "stderr"},
		{name: "restore error json", args: []string{"restore", "nokey", "-o", "json"}, code: exitError, stream: "stderr"},
		{name: "audit table", args: []string{"audit", "--backend", "file://BACKEND", "--project", "demo"}, code: exitOK, stream: "stdout"},
		{name: "audit history", args: []string{"audit", "--backend", "file://BACKEND", "--history"}, code: exitOK, stream: "stdout"},
		{name: "audit csv", args: []string{"audit", "--backend", "file://BACKEND", "-o", "csv"}, code: exitOK, stream: "stdout"},
		{name: "show", args: []string{"show", "dev", "--backend", "file://BACKEND"}, code: exitOK, stream: "stdout"},
		{name: "show error", args: []string{"show", "nokey", "--backend", "file://BACKEND"}, code: exitOK, stream: "stdout"},
		// ls prints only names that passed validation; its error line
		// still escapes what it quotes.
		{name: "ls error", args: []string{"ls", "--backend", "file://BACKEND/gone\x1b[2J"}, code: exitError, stream: "stderr"},
		{name: "check", args: []string{"check", "--backend", "file://BACKEND"}, settings: map[string]string{"nokey": "config: {}\n"}, code: exitError, stream: "stdout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, objects)
			for stack, body := range tt.settings {
				write(t, filepath.Join(f.project, "Pulumi."+stack+".yaml"), body)
			}
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "BACKEND", f.backend)
			}
			code, out, errs := f.run(t, args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stdout %q stderr %q", code, tt.code, out, errs)
			}
			got := out
			if tt.stream == "stderr" {
				got = errs
			}
			assertEscaped(t, tt.stream, got)
			assertEscaped(t, "stdout and stderr", out+errs)
		})
	}
}

// A provider line the diff shows has its control characters escaped; its
// newline and the no-newline marker stay as diff(1) writes them.
func TestDiffEscapesProviderLines(t *testing.T) {
	got := unifiedDiff("P\x1b.yaml", []byte("secretsprovider: a\x1bb\n"), []byte("secretsprovider: c\x07"))
	want := "--- a/P\\x1b.yaml\n+++ b/P\\x1b.yaml\n@@ -1 +1 @@\n-secretsprovider: a\\x1bb\n+secretsprovider: c\\x07\n\\ No newline at end of file\n"
	if got != want {
		t.Errorf("diff:\n%q\nwant:\n%q", got, want)
	}
}

// failWriter is a stdout whose every write fails, as on a full disk.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// Output that cannot be written is an error in every command and format:
// exit 1 and one line that says so, never a silent success.
func TestOutputWriteError(t *testing.T) {
	f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev")})
	backend := "file://" + f.backend
	write(t, filepath.Join(f.project, "Pulumi.dev.yaml"), "config: {}\n") // for check to report
	for _, args := range [][]string{
		{"restore", "dev", "--backend", backend, "--dry-run"},
		{"restore", "dev", "--backend", backend, "-o", "json", "--check"},
		{"verify", "dev", "--backend", backend},
		{"check", "--backend", backend},
		{"ls", "--backend", backend},
		{"show", "dev", "--backend", backend},
		{"audit", "--backend", backend},
		{"audit", "--backend", backend, "-o", "csv"},
		{"version"},
	} {
		t.Run(strings.Join(args[:1], " "), func(t *testing.T) {
			var errb bytes.Buffer
			e := &env{stdout: failWriter{}, stderr: &errb, getenv: func(string) string { return "" }, home: f.root, cwd: f.project}
			code := run(context.Background(), args, e)
			if code != exitError || strings.Count(errb.String(), "writing output: no space left on device") != 1 {
				t.Errorf("%v: exit %d, stderr %q; want 1 and one line saying the output could not be written", args, code, errb.String())
			}
		})
	}
}

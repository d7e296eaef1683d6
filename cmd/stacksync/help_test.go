package main

import (
	"strings"
	"testing"
)

func TestHelpExitsZero(t *testing.T) {
	f := newFixture(t, map[string]string{})
	for _, cmd := range []string{"restore", "verify", "audit", "ls", "show", "check"} {
		for _, h := range []string{"-h", "--help"} {
			code, out, errs := f.run(t, cmd, h)
			if code != exitOK || !strings.Contains(out, "Usage:\n  stacksync "+cmd) || !strings.Contains(out, "--timeout DURATION") || errs != "" {
				t.Errorf("%s %s: exit %d, stdout %.300q, stderr %q; want 0 and the flags", cmd, h, code, out, errs)
			}
		}
	}
}

// TestRestoreHelp: restore's help reads like the pulumi CLI's: a
// description, shorthands beside their flags, and examples.
func TestRestoreHelp(t *testing.T) {
	f := newFixture(t, map[string]string{})
	code, out, _ := f.run(t, "restore", "--help")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"Restore writes secretsprovider",
		"Usage:\n  stacksync restore [STACK]... [flags]",
		"Examples:\n  # Restore Pulumi.dev.yaml",
		"stacksync restore -C infra --backend s3://my-pulumi-state?region=us-west-2 -s dev --missing-ok",
		"-s, --stack NAME",
		"-C, --cwd DIR",
		"-o, --output FORMAT",
		"--missing-ok",
		"--timeout DURATION",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("restore --help lacks %q:\n%s", want, out)
		}
	}
	if _, out, _ := f.run(t, "audit", "-h"); !strings.Contains(out, "-j, --jobs N") || !strings.Contains(out, "--history ") {
		t.Errorf("audit -h lacks -j, --jobs N or --history:\n%s", out)
	}
}

package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBashCompletionLoads builds stacksync and sources its bash
// completion script in a real bash, as a user's .bashrc would.
func TestBashCompletionLoads(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash here")
	}
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool here to build stacksync")
	}
	bin := filepath.Join(t.TempDir(), "stacksync")
	build := exec.Command(gotool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	script := `source <("$BIN" completion bash) && complete -p stacksync`
	cmd := exec.Command(bash, "--norc", "--noprofile", "-c", script)
	cmd.Env = append(cmd.Environ(), "BIN="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "__start_stacksync") {
		t.Errorf("sourcing the completion script: %v\n%s", err, out)
	}
}

// TestCompletionOffersFlags: the completion the scripts ask stacksync for
// offers a command's flags.
func TestCompletionOffersFlags(t *testing.T) {
	f := newFixture(t, map[string]string{})
	code, out, _ := f.run(t, "__complete", "restore", "--")
	for _, want := range []string{"--stack", "--missing-ok", "--cwd", "--timeout"} {
		if code != exitOK || !strings.Contains(out, want+"\t") {
			t.Errorf("__complete restore --: exit %d, no %s in:\n%s", code, want, out)
		}
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		if code, out, errs := f.run(t, "completion", shell); code != exitOK || !strings.Contains(out, "stacksync") {
			t.Errorf("completion %s: exit %d, %d bytes, stderr %q", shell, code, len(out), errs)
		}
	}
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}} {
		if code, _, errs := f.run(t, args...); code != exitUsage || strings.Count(errs, "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and one line", args, code, errs)
		}
	}
}

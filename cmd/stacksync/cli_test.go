package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersionArguments(t *testing.T) {
	f := newFixture(t, map[string]string{})
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"version"}, exitOK, "stacksync dev\n", ""},
		{[]string{"--version"}, exitOK, "stacksync dev\n", ""},
		{[]string{"version", "-h"}, exitOK, "Usage: stacksync version\n", ""},
		{[]string{"version", "--bogus"}, exitUsage, "", `version takes no arguments, got "--bogus"`},
		{[]string{"--version", "x"}, exitUsage, "", `version takes no arguments, got "x"`},
		{[]string{"version", strings.Repeat("v", 5000)}, exitUsage, "", "…(5000 bytes)"},
	} {
		code, out, errs := f.run(t, tc.args...)
		if code != tc.code || out != tc.stdout || !strings.Contains(errs, tc.stderr) {
			t.Errorf("%.40q: exit %d, stdout %q, stderr %.200q; want %d, %q, %q", tc.args, code, out, errs, tc.code, tc.stdout, tc.stderr)
		}
		if len(errs) > 300 {
			t.Errorf("%.40q: stderr is %d bytes long", tc.args, len(errs))
		}
	}
}

// An empty -C (an unset variable in -C "$DIR") is a usage error naming
// the flag, not the current directory.
func TestEmptyDirectoryIsAUsageError(t *testing.T) {
	f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev")})
	for _, args := range [][]string{
		{"restore", "-C", "", "dev"},
		{"restore", "--cwd=", "dev"},
		{"show", "-C", "", "dev", "--backend", "file://" + f.backend},
		{"check", "", "--backend", "file://" + f.backend},
	} {
		code, out, errs := f.run(t, args...)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want 2; stdout %q stderr %q", args, code, out, errs)
		}
		flag := args[1]
		if args[0] == "check" {
			flag = "empty directory argument"
		} else if strings.HasPrefix(flag, "--cwd") {
			flag = "-cwd"
		}
		if !strings.Contains(errs, flag) {
			t.Errorf("%q: stderr %q does not name %s", args, errs, flag)
		}
	}
	if _, err := os.Stat(filepath.Join(f.project, "Pulumi.dev.yaml")); err == nil {
		t.Error("a settings file was written in the current directory")
	}
}

// A 5,000-character stack name or argument is shortened in the message.
func TestLongArgumentsAreShortened(t *testing.T) {
	f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev")})
	long := strings.Repeat("s", 5000)
	for _, args := range [][]string{
		{"restore", long},
		{"restore", "other/" + long},
		{"restore", long + "/dev"},
		{"restore", "dev", "-o", long},
		{"show", long, "--backend", "file://" + f.backend},
		{"audit", long, "--backend", "file://" + f.backend},
		{"ls", long, "--backend", "file://" + f.backend},
		{long},
	} {
		code, _, errs := f.run(t, args...)
		if code != exitUsage && code != exitError {
			t.Errorf("%.60q: exit %d", args, code)
		}
		first, _, _ := strings.Cut(errs, "\n")
		if len(first) > 300 || !strings.Contains(first, "…(") {
			t.Errorf("%.60q: first line of stderr is %d bytes: %.200q", args, len(first), first)
		}
	}
}

// Command lines that cannot run exit 2 with one line on stderr, whether
// the command, a flag or its value is wrong; nothing goes to stdout.
func TestUsageErrorsAreOneLine(t *testing.T) {
	f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev")})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"restroe"}, `unknown command "restroe"; did you mean restore?`},
		{[]string{"frobnicate"}, `unknown command "frobnicate"; run "stacksync --help"`},
		{[]string{"restore", "dev", "--nope"}, "unknown flag: --nope"},
		{[]string{"restore", "dev", "-x"}, `unknown shorthand flag "x" in -x`},
		{[]string{"audit", "-o"}, "flag needs an argument"},
		{[]string{"audit", "-j", "many"}, `invalid value "many" for flag -j: invalid syntax`},
		{[]string{"audit", "--jobs=many"}, `invalid value "many" for flag --jobs`},
		{[]string{"audit", "--history=some"}, `invalid value "some" for flag --history: want --history or --history=all`},
		{[]string{"restore", "--" + strings.Repeat("n", 5000)}, "…(5000 bytes)"},
	} {
		code, out, errs := f.run(t, tc.args...)
		if code != exitUsage || out != "" || !strings.HasPrefix(errs, "stacksync: ") || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, tc.want) {
			t.Errorf("%.60q: exit %d, stdout %q, stderr %.300q; want 2 and one line with %q", tc.args, code, out, errs, tc.want)
		}
	}
	// No arguments at all: the help, on stderr, and exit 2.
	if code, out, errs := f.run(t); code != exitUsage || out != "" || !strings.Contains(errs, "Available Commands:") {
		t.Errorf("no arguments: exit %d, stdout %q, stderr %.200q", code, out, errs)
	}
}

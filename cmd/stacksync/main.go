// Command stacksync reads Pulumi DIY backend state (S3 or file://) with no
// pulumi binary. It restores the secrets provider fields of stack settings
// files (Pulumi.<stack>.yaml) and audits which secrets provider each stack
// of a backend uses.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/stacksync/stacksync/pkg/settings"
	"github.com/stacksync/stacksync/pkg/state"
)

// Exit codes.
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitDrift    = 3 // --check, check or --fail-on found something
	exitConflict = 4
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `stacksync restores and audits the secrets provider of Pulumi DIY stacks.

Usage:
  stacksync restore [-s|--stack NAME]... [--all] [-C|--cwd DIR] [--backend URL]
                    [--check] [--dry-run] [--force] [-o|--output text|json] [STACK]...
  stacksync audit   [--backend URL] [--project P]... [-o table|json|csv] [--fail-on LIST]
                    [--history] [-j N]
  stacksync ls      [--backend URL] [--project P]... [-o text|json]
  stacksync show    [project/]STACK [--backend URL] [-C DIR] [-o text|json]
  stacksync check   [DIR]... [--backend URL] [--all-stacks] [-o text|json]
  stacksync version

Run "stacksync COMMAND -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], newEnv(os.Stdout, os.Stderr))
	stop()
	os.Exit(code)
}

// env is what a command may touch of the outside world, so tests can run
// commands in-process.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	home           string
	cwd            string
}

func newEnv(stdout, stderr io.Writer) *env {
	home, _ := os.UserHomeDir()
	cwd, _ := os.Getwd()
	return &env{stdout: stdout, stderr: stderr, getenv: os.Getenv, home: home, cwd: cwd}
}

func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "restore":
		return restoreCmd(ctx, rest, e)
	case "audit":
		return auditCmd(ctx, rest, e)
	case "ls":
		return lsCmd(ctx, rest, e)
	case "show":
		return showCmd(ctx, rest, e)
	case "check":
		return checkCmd(ctx, rest, e)
	case "version", "--version":
		fmt.Fprintln(e.stdout, "stacksync", version)
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
		return exitOK
	}
	fmt.Fprintf(e.stderr, "stacksync: unknown command %q\n\n%s", cmd, usage)
	return exitUsage
}

// usageError marks a command line that cannot run; it exits 2. It wraps
// the flag package's error, if any (flag.ErrHelp for -h).
type usageError struct {
	msg string
	err error
}

func (u usageError) Error() string { return u.msg }
func (u usageError) Unwrap() error { return u.err }

// parseArgs parses flags and positional arguments in any order, as users of
// pulumi expect ("restore dev --check"). A "--" ends the flags.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError{err.Error(), err}
		}
		rest := fs.Args()
		// The flag package consumes a "--" that ends the flags.
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// newFlagSet returns a flag set that reports errors, but leaves the exit to
// the caller.
func newFlagSet(name string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("stacksync "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// workspace is what every command that touches a project resolves first:
// the directory, the project (when there is one) and the backend.
type workspace struct {
	dir     string
	project *settings.Project
	backend *state.Backend
}

// openWorkspace finds the Pulumi project from dir (required when
// needProject) and opens its backend.
func openWorkspace(ctx context.Context, e *env, dir, flagURL string, needProject bool) (*workspace, error) {
	if dir == "" {
		dir = e.cwd
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join(e.cwd, dir)
	}
	// FindProject searches upward; a mistyped -C must not land in a parent
	// project instead.
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, usageError{msg: fmt.Sprintf("-C %s: no such directory", dir)}
	}
	w := &workspace{dir: dir}
	proj, err := settings.FindProject(dir)
	switch {
	case err == nil:
		w.project = proj
	case needProject || !errors.Is(err, settings.ErrNoProject):
		return nil, err
	}
	return w, w.openBackend(ctx, e, flagURL, nil)
}

// openBackend opens the workspace's backend: flagURL, else
// PULUMI_BACKEND_URL, else the project's backend.url, else pulumi's
// credentials.json. A relative file:// URL resolves against the workspace
// directory, as pulumi run there would resolve it. With a cache, backends
// are shared between workspaces that name the same one.
func (w *workspace) openBackend(ctx context.Context, e *env, flagURL string, cache map[string]*state.Backend) error {
	projectURL := ""
	if w.project != nil {
		projectURL = w.project.BackendURL
	}
	raw, source, err := state.ResolveBackendURL(flagURL, projectURL, e.getenv, e.home)
	if err != nil {
		return err
	}
	u, err := state.ParseBackendURL(raw, w.dir, e.home)
	if err != nil {
		return fmt.Errorf("backend %s (from %s): %w", raw, source, err)
	}
	// A relative file:// URL names a different directory per workspace.
	key := raw
	if u.Scheme == "file" {
		key = "file://" + u.Dir + "?prefix=" + u.Prefix
	}
	if b, ok := cache[key]; ok {
		w.backend = b
		return nil
	}
	if w.backend, err = state.OpenURL(ctx, u); err != nil {
		return fmt.Errorf("opening backend %s (from %s): %w", raw, source, err)
	}
	if cache != nil {
		cache[key] = w.backend
	}
	return nil
}

// errorLine prints err as the one line the user sees.
func errorLine(e *env, err error) {
	fmt.Fprintf(e.stderr, "stacksync: %v\n", err)
}

// fail prints err as the one line the user sees and returns its exit code:
// 0 for -h (the flag package has printed the help), 2 for usage, else 1.
func fail(e *env, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	errorLine(e, err)
	return exitFor(err)
}

// exitFor maps an error to an exit code.
func exitFor(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	return exitError
}

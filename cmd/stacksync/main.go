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
	"runtime/debug"
	"strings"
	"syscall"
	"time"

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
	exitMissing  = 5 // restore: a stack the backend does not hold
	// exitInterrupted is the shell's code for a process SIGINT ended:
	// 128 + 2. stacksync exits with it on SIGINT and SIGTERM alike.
	exitInterrupted = 130
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `stacksync restores and audits the secrets provider of Pulumi DIY stacks.

Usage:
  stacksync restore [-s|--stack NAME]... [--all] [-C|--cwd DIR] [--backend URL]
                    [--check] [--dry-run] [--force] [--missing-ok] [--verify] [-o|--output text|json]
                    [--timeout DURATION] [STACK]...
  stacksync verify  [-s|--stack NAME]... [--all] [-C|--cwd DIR] [--backend URL]
                    [-o|--output text|json] [--timeout DURATION] [STACK]...
  stacksync audit   [--backend URL] [--project P]... [-o table|json|csv] [--fail-on LIST]
                    [--history[=all]] [--keys] [-j N] [--timeout DURATION]
  stacksync ls      [--backend URL] [--project P]... [-o text|json] [--timeout DURATION]
  stacksync show    [project/]STACK [--backend URL] [-C DIR] [-o text|json]
                    [--timeout DURATION]
  stacksync check   [DIR]... [--backend URL] [--all-stacks] [-o text|json]
                    [--timeout DURATION]
  stacksync version

Run "stacksync COMMAND -h" for a command's flags.
`

// memoryLimit is the Go runtime's soft memory limit for a stacksync
// process (unless GOMEMLIMIT says otherwise). Everyday runs stay far below
// it; past it the collector runs more often instead of letting the heap
// double, which keeps a 50 MB settings file's edit near 120 MB of RSS
// instead of 180 MB.
const memoryLimit = 64 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal stops the command gracefully; a second one, with
	// the handler gone, ends the process at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], newEnv(os.Stdout, os.Stderr))
	stop()
	os.Exit(code)
}

// env is what a command may touch of the outside world, so tests can run
// commands in-process.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	lookupEnv      func(string) (string, bool) // tells a variable set empty from unset
	home           string
	cwd            string
	// caBundle is AWS_CA_BUNDLE, which the S3 store loads lazily.
	caBundle string
}

func newEnv(stdout, stderr io.Writer) *env {
	home, _ := os.UserHomeDir()
	cwd, _ := os.Getwd()
	// The AWS SDK parses the bundle AWS_CA_BUNDLE names as it loads its
	// configuration, before the first request and even for a plain-HTTP
	// endpoint: 12 ms of a restore here. stacksync takes the variable over
	// and has the S3 store read the bundle at its first TLS handshake.
	caBundle := os.Getenv("AWS_CA_BUNDLE")
	os.Unsetenv("AWS_CA_BUNDLE")
	return &env{stdout: stdout, stderr: stderr, getenv: os.Getenv, lookupEnv: os.LookupEnv, home: home, cwd: cwd, caBundle: caBundle}
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
	case "verify":
		return verifyCmd(ctx, rest, e)
	case "version", "--version":
		if len(rest) > 0 {
			if rest[0] == "-h" || rest[0] == "--help" || rest[0] == "-help" {
				fmt.Fprintln(e.stdout, "Usage: stacksync version")
				return exitOK
			}
			return fail(e, usageError{msg: fmt.Sprintf("version takes no arguments, got %q", short(rest[0]))})
		}
		fmt.Fprintln(e.stdout, "stacksync", version)
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
		return exitOK
	}
	fmt.Fprintf(e.stderr, "stacksync: unknown command %q\n\n%s", short(cmd), usage)
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

// dirFlag is a directory flag (-C, --cwd) that refuses an empty value: an
// unset variable in `-C "$DIR"` must not silently mean the current
// directory.
type dirFlag string

func (d *dirFlag) String() string { return string(*d) }
func (d *dirFlag) Set(v string) error {
	if v == "" {
		return errors.New("empty directory; leave the flag out to use the current directory")
	}
	*d = dirFlag(v)
	return nil
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
	// locked is the backend's locked stacks from one listing (loadLocks);
	// nil until loaded, when isLocked asks per stack.
	locked map[state.StackRef]bool
	legacy bool // the backend is in the legacy layout
}

// loadLocks lists the backend's lock files once, so that isLocked answers
// for many stacks without a listing each.
func (w *workspace) loadLocks(ctx context.Context) error {
	layout, err := w.backend.Layout(ctx)
	if err != nil {
		return err
	}
	locked, err := w.backend.LockedStacks(ctx)
	if err != nil {
		return err
	}
	w.locked, w.legacy = locked, layout.Legacy
	return nil
}

// isLocked reports whether the backend-wide lock listing (loadLocks) holds
// a lock of ref; without one it says false, and Provider's own listing
// answers.
func (w *workspace) isLocked(ref state.StackRef) bool {
	if w.locked == nil {
		return false
	}
	if w.legacy {
		// A legacy lock's key names no project.
		return w.locked[state.StackRef{Name: ref.Name}]
	}
	return w.locked[ref]
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
	if w.backend, err = state.OpenURL(ctx, u, state.OpenOptions{S3: state.S3StoreOptions{CABundle: e.caBundle}}); err != nil {
		return fmt.Errorf("opening backend %s (from %s): %w", raw, source, err)
	}
	if cache != nil {
		cache[key] = w.backend
	}
	return nil
}

// errorLine prints err as the one line the user sees, with control
// characters from state or files escaped.
func errorLine(e *env, err error) {
	fmt.Fprintf(e.stderr, "stacksync: %s\n", safe(err.Error()))
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

// defaultTimeout bounds a whole command that touches a backend unless
// --timeout says otherwise: well above a restore or an audit of thousands
// of stacks, well below the hour a CI job is commonly given.
const defaultTimeout = 10 * time.Minute

// timeoutError is the cause of a command's context whose --timeout passed.
type timeoutError struct{ d time.Duration }

func (t timeoutError) Error() string { return "timed out after " + t.d.String() }

// Unwrap makes a timeout match context.DeadlineExceeded.
func (t timeoutError) Unwrap() error { return context.DeadlineExceeded }

// addTimeout registers --timeout on fs.
func addTimeout(fs *flag.FlagSet) *time.Duration {
	return fs.Duration("timeout", defaultTimeout, "give up after `DURATION` (e.g. 90s, 5m); 0 for no limit")
}

// checkTimeout refuses a negative --timeout.
func checkTimeout(d time.Duration) error {
	if d < 0 {
		return usageError{msg: fmt.Sprintf("--timeout %s: want a positive duration, or 0 for no limit", d)}
	}
	return nil
}

// withTimeout returns the context a command runs under: ctx bounded by
// the --timeout d (none when d is 0).
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, d, timeoutError{d})
}

// stopped reports whether the command's ctx was stopped, by an interrupt
// (SIGINT, SIGTERM) or by its --timeout, and if so prints the one line
// that says so and returns the exit code: 130 for an interrupt, 1 for a
// timeout. done and total count the stacks; a negative total is unknown.
// The line never lists the stacks left undone.
func stopped(ctx context.Context, e *env, done, total int) (int, bool) {
	if ctx.Err() == nil {
		return 0, false
	}
	progress := ""
	if total >= 0 {
		progress = fmt.Sprintf(": %d of %d stacks done", done, total)
	}
	var t timeoutError
	if errors.As(context.Cause(ctx), &t) {
		fmt.Fprintf(e.stderr, "stacksync: %s (--timeout)%s; raise --timeout, or check that the backend answers\n", t, progress)
		return exitError, true
	}
	fmt.Fprintf(e.stderr, "stacksync: interrupted%s\n", progress)
	return exitInterrupted, true
}

// failRun is fail for an error met while the command ran: when the
// command was stopped, the error is most likely the stop's, so it prints
// the stop's line instead.
func failRun(ctx context.Context, e *env, err error) int {
	if code, ok := stopped(ctx, e, 0, -1); ok {
		return code
	}
	return fail(e, err)
}

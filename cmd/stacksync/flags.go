package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/stacksync/stacksync/pkg/restore"
	"github.com/stacksync/stacksync/pkg/state"
)

// The flags several commands share, registered alike everywhere so that
// their names, shorthands and help read the same in every command.

// backendUsage is --backend's help where the backend is resolved as
// pulumi resolves it.
const backendUsage = "backend `URL`: s3://, gs://, azblob://, postgres:// or file:// (default: PULUMI_BACKEND_URL, Pulumi.yaml backend.url, pulumi login)"

// addBackend registers --backend.
func addBackend(fs *pflag.FlagSet, p *string, usage string) {
	fs.StringVar(p, "backend", "", usage)
}

// addStacks registers -s, --stack, repeatable.
func addStacks(fs *pflag.FlagSet, p *[]string, usage string) {
	fs.StringArrayVarP(p, "stack", "s", nil, usage)
}

// addProjects registers --project, repeatable.
func addProjects(fs *pflag.FlagSet, p *[]string, usage string) {
	fs.StringArrayVar(p, "project", nil, usage)
}

// addCwd registers -C, --cwd.
func addCwd(fs *pflag.FlagSet, d *dirFlag) {
	fs.VarP(d, "cwd", "C", "run as if in `DIR`: where Pulumi.yaml is searched for, and what relative file:// URLs are relative to")
}

// addOutput registers -o, --output with its default and the formats it
// takes, e.g. "text or json".
func addOutput(fs *pflag.FlagSet, p *string, def, formats string) {
	fs.StringVarP(p, "output", "o", def, "output `FORMAT`: "+formats)
}

// dirFlag is a directory flag (-C, --cwd) that refuses an empty value: an
// unset variable in `-C "$DIR"` must not silently mean the current
// directory.
type dirFlag string

func (d *dirFlag) String() string { return string(*d) }
func (d *dirFlag) Type() string   { return "string" }
func (d *dirFlag) Set(v string) error {
	if v == "" {
		return errors.New("empty directory; leave the flag out to use the current directory")
	}
	*d = dirFlag(v)
	return nil
}

// flagError turns an error of the flag parser into the one-line usage
// error stacksync prints. A bad value names the flag as the user wrote it
// (-C or --cwd); args is the command line, where it looks.
func flagError(args []string, err error) error {
	var (
		iv *pflag.InvalidValueError
		ne *pflag.NotExistError
	)
	switch {
	case errors.As(err, &iv):
		cause := iv.Unwrap()
		var num *strconv.NumError
		if errors.As(cause, &num) {
			cause = num.Err
		}
		return usageError{msg: fmt.Sprintf("invalid value %q for flag %s: %v", short(iv.GetValue()), writtenAs(args, iv.GetFlag()), cause), err: err}
	case errors.As(err, &ne) && ne.GetSpecifiedShortnames() != "":
		return usageError{msg: fmt.Sprintf("unknown shorthand flag %q in -%s", short(ne.GetSpecifiedName()[:1]), short(ne.GetSpecifiedShortnames())), err: err}
	case errors.As(err, &ne):
		return usageError{msg: "unknown flag: --" + short(ne.GetSpecifiedName()), err: err}
	}
	return usageError{msg: firstLine(err.Error()), err: err}
}

// writtenAs returns f's name as the last of args that sets it wrote it:
// "-C" or "--cwd".
func writtenAs(args []string, f *pflag.Flag) string {
	name := "--" + f.Name
	for _, a := range args {
		switch {
		case a == "--":
			return name
		case a == "--"+f.Name || strings.HasPrefix(a, "--"+f.Name+"="):
			name = "--" + f.Name
		case f.Shorthand != "" && strings.HasPrefix(a, "-"+f.Shorthand):
			name = "-" + f.Shorthand
		}
	}
	return name
}

// firstLine returns s up to its first newline.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// stackFlags are the flags of a command that works on stacks of the
// project in a directory (restore, verify): which stacks, where, and how
// to print.
type stackFlags struct {
	stacks     []string
	all        bool
	dir        dirFlag
	backendURL string
	output     string
	timeout    *time.Duration
}

// register registers the flags on fs; verb is what the command does to a
// stack ("restore").
func (s *stackFlags) register(fs *pflag.FlagSet, verb string) {
	addStacks(fs, &s.stacks, "`NAME` of a stack to "+verb+" (repeatable; positional arguments are stacks too)")
	fs.BoolVar(&s.all, "all", false, verb+" every stack of the project the backend holds")
	addCwd(fs, &s.dir)
	addBackend(fs, &s.backendURL, backendUsage)
	addOutput(fs, &s.output, "text", "text or json")
	s.timeout = addTimeout(fs)
}

// targets returns the stacks named by the flags and the positional
// arguments pos, or a usage error.
func (s *stackFlags) targets(pos []string) ([]string, error) {
	stacks := append(slices.Clip(s.stacks), pos...)
	switch {
	case s.all && len(stacks) > 0:
		return nil, usageError{msg: "give stacks or --all, not both"}
	case !s.all && len(stacks) == 0:
		return nil, usageError{msg: "no stack given: name stacks (-s NAME or positional) or pass --all"}
	}
	if err := checkOutput(s.output, "text", "json"); err != nil {
		return nil, err
	}
	return stacks, checkTimeout(*s.timeout)
}

// checkOutput refuses an --output other than formats.
func checkOutput(output string, formats ...string) error {
	if slices.Contains(formats, output) {
		return nil
	}
	want := formats[len(formats)-1]
	if n := len(formats); n > 1 {
		want = strings.Join(formats[:n-1], ", ") + " or " + want
	}
	return usageError{msg: fmt.Sprintf("--output %q: want %s", short(output), want)}
}

// stackRun is what a command that works on a project's stacks (restore,
// verify) starts from: its context under --timeout, the workspace and the
// stacks.
type stackRun struct {
	ctx    context.Context
	cancel context.CancelFunc
	w      *restore.Workspace
	refs   []state.StackRef
}

// start checks the stack arguments pos, then, under --timeout, opens the
// workspace and resolves the stacks (or --all). On failure it has printed
// the error and returns nil and the exit code.
func (s *stackFlags) start(ctx context.Context, e *env, pos []string) (*stackRun, int) {
	stacks, err := s.targets(pos)
	if err != nil {
		return nil, fail(e, err)
	}
	ctx, cancel := withTimeout(ctx, *s.timeout)
	w, err := openWorkspace(ctx, e, string(s.dir), s.backendURL, true)
	var refs []state.StackRef
	if err == nil {
		refs, err = w.Stacks(ctx, stacks, s.all)
	}
	if err != nil {
		code := failRun(ctx, e, hint(err))
		cancel()
		return nil, code
	}
	return &stackRun{ctx: ctx, cancel: cancel, w: w, refs: refs}, exitOK
}

// pipe runs the pipeline with opts over the run's stacks. each handles
// one result as it comes (text goes out stack by stack, so an interrupt
// leaves the lines of the stacks done on the screen) and returns its exit
// code; done, after the last, writes what each kept (JSON: one array of the
// stacks done, valid JSON after a stop too). The exit code is the worst of
// the results', the stop's, or 1 when the backend failed before any stack,
// which then prints nothing but the error.
func (run *stackRun) pipe(e *env, opts restore.Options, each func(restore.Result) int, done func() int) int {
	var codes []int
	err := run.w.Run(run.ctx, run.refs, opts, func(r restore.Result) error {
		codes = append(codes, each(r))
		return nil
	})
	if err != nil && run.ctx.Err() == nil {
		return fail(e, hint(err))
	}
	if c := done(); c != exitOK {
		return c
	}
	if err != nil {
		if c, ok := stopped(run.ctx, e, len(codes), len(run.refs)); ok {
			return c
		}
		return fail(e, hint(err))
	}
	return worst(codes...)
}

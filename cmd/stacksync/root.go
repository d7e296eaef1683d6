package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/stacksync/stacksync/internal/elide"
)

// rootLong is what "stacksync --help" says first.
const rootLong = `stacksync restores and audits the secrets provider of Pulumi DIY stacks.

It reads a Pulumi DIY backend (s3://, gs://, azblob://, postgres:// or file://)
directly, with no pulumi binary and without writing to it, and restores the
secretsprovider, encryptedkey and encryptionsalt of Pulumi.<stack>.yaml
settings files from state.`

// run runs the command line args (without the program name) and returns
// the exit code. Errors are one line on stderr, prefixed "stacksync: ".
func run(ctx context.Context, args []string, e *env) (code int) {
	if args == nil {
		// cobra reads os.Args for a nil slice.
		args = []string{}
	}
	// Output that could not be written is an error, whatever the command
	// and format: a full disk or a closed stdout must not pass for success.
	out := &stickyWriter{w: e.stdout}
	e.stdout = out
	defer func() { e.stdout = out.w }()
	code = exitOK
	root := newRootCmd(e, &code, args)
	root.SetArgs(args)
	defer func() {
		if out.err != nil && code != exitInterrupted {
			errorLine(e, fmt.Errorf("writing output: %w", out.err))
			code = exitError
		}
	}()
	if err := root.ExecuteContext(ctx); err != nil {
		// The commands print their own errors and set code; what comes
		// back here is cobra's: a flag or command line it cannot parse.
		if _, ok := err.(usageError); !ok {
			msg := firstLine(err.Error())
			if len(msg) > 2*elide.Max {
				// It may quote an argument of any length.
				msg = short(msg)
			}
			err = usageError{msg: msg, err: err}
		}
		return fail(e, err)
	}
	return code
}

// stickyWriter is a writer that keeps the first error of a write and
// writes nothing more after it.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	s.err = err
	return n, err
}

// newRootCmd builds the command tree for one run. Each command stores its
// exit code in *code. args is the command line, for flag errors that name
// a flag as it was written.
func newRootCmd(e *env, code *int, args []string) *cobra.Command {
	var showVersion bool
	root := &cobra.Command{
		Use:   "stacksync",
		Short: "Restore and audit the secrets provider of Pulumi DIY stacks",
		Long:  rootLong,
		Example: `  # Restore the settings file of stack dev before pulumi up
  stacksync restore dev --missing-ok

  # Fail a CI job when any stack of a bucket is protected only by a passphrase
  stacksync audit --backend s3://my-pulumi-state --history --fail-on passphrase,none`,
		// Commands check their own arguments, with messages that say
		// what to do.
		Args:          cobra.ArbitraryArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case showVersion:
				*code = printVersion(e, args)
			case len(args) == 0:
				fmt.Fprintf(e.stderr, "%s\n\n%s", rootLong, cmd.UsageString())
				*code = exitUsage
			default:
				msg := fmt.Sprintf(`unknown command %q; run "stacksync --help" for the commands`, short(args[0]))
				if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
					msg = fmt.Sprintf("unknown command %q; did you mean %s?", short(args[0]), strings.Join(s, " or "))
				}
				*code = fail(e, usageError{msg: msg})
			}
			return nil
		},
	}
	root.SuggestionsMinimumDistance = 2
	root.Flags().BoolVar(&showVersion, "version", false, "print the version")
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return flagError(args, err) })
	root.AddCommand(
		newRestoreCmd(e, code),
		newVerifyCmd(e, code),
		newAuditCmd(e, code),
		newLsCmd(e, code),
		newShowCmd(e, code),
		newCheckCmd(e, code),
		newVersionCmd(e, code),
	)
	// cobra's completion command prints its help for "completion" alone
	// and for an unknown shell, and exits 0; a script that asks for a
	// shell stacksync has no script for must fail instead.
	root.InitDefaultCompletionCmd()
	if c, _, err := root.Find([]string{"completion"}); err == nil && c.Name() == "completion" {
		c.RunE = func(*cobra.Command, []string) error {
			return usageError{msg: "completion needs a shell: bash, zsh, fish or powershell"}
		}
	}
	return root
}

// newCommand returns a subcommand with the settings every stacksync
// command shares: it takes positional arguments anywhere among its flags
// and checks them itself, and its run sets the exit code.
func newCommand(use, short, long, example string, run func(cmd *cobra.Command, args []string) int, code *int) *cobra.Command {
	return &cobra.Command{
		Use:     use,
		Short:   short,
		Long:    long,
		Example: example,
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			*code = run(cmd, args)
			return nil
		},
	}
}

// newVersionCmd is "stacksync version", which prints what --version does.
func newVersionCmd(e *env, code *int) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of stacksync",
		Long:  "Print the version of stacksync: the release tag it was built from, or dev.",
		Args:  cobra.ArbitraryArgs,
		// It takes no flags; printVersion answers -h and refuses the rest
		// with its own message.
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			*code = printVersion(e, args)
			return nil
		},
	}
}

// printVersion prints the version; args are what follows "version" or
// "--version".
func printVersion(e *env, args []string) int {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
			fmt.Fprintln(e.stdout, "Usage: stacksync version")
			return exitOK
		}
		return fail(e, usageError{msg: fmt.Sprintf("version takes no arguments, got %q", short(args[0]))})
	}
	fmt.Fprintln(e.stdout, "stacksync", version)
	return exitOK
}

package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

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
func addTimeout(fs *pflag.FlagSet) *time.Duration {
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

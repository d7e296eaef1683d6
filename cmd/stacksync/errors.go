package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/stacksync/stacksync/pkg/state"
)

// usageError marks a command line that cannot run; it exits 2. It wraps
// the flag parser's error, if any.
type usageError struct {
	msg string
	err error
}

func (u usageError) Error() string { return u.msg }
func (u usageError) Unwrap() error { return u.err }

// errorLine prints err as the one line the user sees, with control
// characters from state or files escaped.
func errorLine(e *env, err error) {
	fmt.Fprintf(e.stderr, "stacksync: %s\n", safe(err.Error()))
}

// fail prints err as the one line the user sees and returns its exit code:
// 2 for usage, else 1.
func fail(e *env, err error) int {
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

// failRun is fail for an error met while the command ran: when the
// command was stopped, the error is most likely the stop's, so it prints
// the stop's line instead.
func failRun(ctx context.Context, e *env, err error) int {
	if code, ok := stopped(ctx, e, 0, -1); ok {
		return code
	}
	return fail(e, err)
}

// notFoundHint says what to check when a project has no stacks at all in
// the backend: most likely the wrong backend or project name.
func notFoundHint(err error) error {
	var nf *state.StackNotFoundError
	if errors.As(err, &nf) && len(nf.Others) == 0 {
		return hinted{err, "check the backend URL and the project name"}
	}
	return err
}

// hinted adds what the user can do to a library error, which keeps
// wrapping it.
type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() + "; " + h.hint }
func (h hinted) Unwrap() error { return h.err }

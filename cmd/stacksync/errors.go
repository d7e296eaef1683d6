package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/stacksync/stacksync/pkg/restore"
	"github.com/stacksync/stacksync/pkg/settings"
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

// hinted adds what the user can do to a library error, which keeps
// wrapping it.
type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() + "; " + h.hint }
func (h hinted) Unwrap() error { return h.err }

// hint adds to a library error the step the user can take on the command
// line: the flag, variable or file to fix. The libraries name none of
// them; this is the one place that does. Errors in how the stacks were
// named are usage errors.
func hint(err error) error {
	var nf *state.StackNotFoundError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, state.ErrNoBackendURL):
		return hinted{err, "pass --backend URL or set PULUMI_BACKEND_URL"}
	case errors.Is(err, settings.ErrNoProject):
		return hinted{err, "run stacksync from the project directory or pass -C <project dir>"}
	case errors.Is(err, restore.ErrOtherProject):
		return usageError{msg: err.Error() + "; run in that project's directory or pass -C", err: err}
	case errors.Is(err, state.ErrInvalidName) && !errors.As(err, &nf):
		return usageError{msg: err.Error(), err: err}
	case errors.As(err, &nf) && len(nf.Others) == 0:
		// Most likely the wrong backend or project name.
		return hinted{err, "check the backend URL and the project name"}
	case errors.Is(err, state.ErrTooLarge):
		return hinted{err, "if it is a real checkpoint, raise the limit with " + maxCheckpointEnv + " (e.g. 1GiB)"}
	case errors.Is(err, restore.ErrUnknownProvider):
		return hinted{err, "fix the checkpoint or set the settings file by hand"}
	case errors.Is(err, restore.ErrUneditable):
		return hinted{err, "fix the file or move it aside"}
	}
	return err
}

// stackHint is hint for the error of one stack's result: a damaged
// checkpoint (one the backend found) gets the way to repair it; a damaged
// meta.yaml's message says what to do already.
func stackHint(r restore.Result) error {
	if errors.Is(r.Err, state.ErrCorrupt) && r.Resolved.Stack.Key != "" {
		return hinted{r.Err, "the checkpoint is damaged: repair it, or put back its .bak or a copy from .pulumi/backups"}
	}
	return hint(r.Err)
}

// worst folds exit codes into the one a command exits with, the gravest
// first: 1 (an error), 5 (a stack not in the backend), 4 (a conflict
// refused), 3 (a finding: drift, a stack that will not decrypt, an audit
// policy), then 0. Every command maps each of its results to a code and
// exits with worst of them.
func worst(codes ...int) int {
	rank := func(c int) int {
		switch c {
		case exitError:
			return 4
		case exitMissing:
			return 3
		case exitConflict:
			return 2
		case exitDrift:
			return 1
		}
		return 0
	}
	code := exitOK
	for _, c := range codes {
		if rank(c) > rank(code) {
			code = c
		}
	}
	return code
}

package restore

import (
	"errors"
	"fmt"
)

// ErrUnknownProvider marks a checkpoint whose secrets provider type pulumi
// does not know, or whose state lacks what pulumi needs; restoring from it
// would write a settings file pulumi cannot use.
var ErrUnknownProvider = errors.New("unusable secrets provider in state")

// ErrOtherProject marks a stack named with a project other than the
// workspace's.
var ErrOtherProject = errors.New("stack of another project")

// ErrNoStacks marks a backend that holds no stack of the project, when
// every stack was asked for.
var ErrNoStacks = errors.New("no stacks of the project in the backend")

// ErrUneditable marks a settings file Run cannot edit: pulumi could not
// parse it either, or it holds what stacksync will not touch.
var ErrUneditable = errors.New("settings file cannot be edited")

// ErrSettingsIO marks a settings file Run could not read or write.
var ErrSettingsIO = errors.New("settings file cannot be read or written")

// fileError is an error of the settings file path that also matches mark
// (ErrUneditable or ErrSettingsIO). An edit's message names the file; a
// read or write error's names it already.
type fileError struct {
	path string
	mark error
	err  error
}

func (e *fileError) Error() string {
	if e.mark == ErrUneditable {
		return "editing " + e.path + ": " + e.err.Error()
	}
	return e.err.Error()
}

func (e *fileError) Unwrap() []error { return []error{e.mark, e.err} }

// markedError is an error with its own message that also matches a
// sentinel under errors.Is, where %w would add the sentinel's text.
type markedError struct {
	msg  string
	mark error
}

func (e *markedError) Error() string { return e.msg }
func (e *markedError) Unwrap() error { return e.mark }

// markf formats a message and marks it with the sentinel mark.
func markf(mark error, format string, args ...any) error {
	return &markedError{msg: fmt.Sprintf(format, args...), mark: mark}
}

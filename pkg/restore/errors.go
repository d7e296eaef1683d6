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

// FileError is a settings file Run cannot read, edit or write. Edit says
// it could not be edited: pulumi could not parse it either, or it holds
// what stacksync will not touch. A read or write error's message is the
// underlying error's, which names the file.
type FileError struct {
	Path string
	Edit bool
	Err  error
}

func (e *FileError) Error() string {
	if e.Edit {
		return "editing " + e.Path + ": " + e.Err.Error()
	}
	return e.Err.Error()
}

func (e *FileError) Unwrap() error { return e.Err }

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

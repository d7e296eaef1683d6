package state

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// Errors callers branch on with errors.Is. The errors this package returns
// wrap them with the object key, URL or stack concerned. A store's own
// errors (store.ErrNotFound, store.ErrAccessDenied, dirstore.ErrSymlink)
// reach callers wrapped the same way.
var (
	// ErrNoBackendURL marks a backend that neither the caller, nor
	// PULUMI_BACKEND_URL, nor the project, nor pulumi login names.
	ErrNoBackendURL = errors.New("no backend URL")
	// ErrInvalidURL marks a backend URL stacksync cannot use.
	ErrInvalidURL = errors.New("invalid backend URL")
	// ErrInvalidName marks a project or stack name Pulumi would not accept,
	// or one ("." or "..") that would escape its directory.
	ErrInvalidName = errors.New("invalid name")
	// ErrStackNotFound marks a stack the backend does not hold. It wraps
	// store.ErrNotFound.
	ErrStackNotFound = &wrapErr{msg: "stack not found", inner: store.ErrNotFound}
	// ErrNoProvider marks a checkpoint that records no secrets provider.
	// Reading such a checkpoint is not an error; callers that need a
	// provider return this.
	ErrNoProvider = errors.New("checkpoint records no secrets provider")
	// ErrUnsupportedVersion marks a checkpoint version this package does not
	// read (above 4), or a meta.yaml version other than 0 and 1.
	ErrUnsupportedVersion = errors.New("unsupported version")
	// ErrCorrupt marks bytes that do not decode: bad JSON, bad compression,
	// truncated input, or a malformed meta.yaml.
	ErrCorrupt = errors.New("corrupt state")
	// ErrTooLarge marks a checkpoint that decodes to more bytes than the
	// limit, or a zstd frame whose window is above MaxZstdWindow: a
	// decompression bomb or a hand-edited file, not state pulumi wrote.
	ErrTooLarge = errors.New("checkpoint too large")
)

// wrapErr is a sentinel that also matches the sentinel it wraps.
type wrapErr struct {
	msg   string
	inner error
}

func (e *wrapErr) Error() string { return e.msg }
func (e *wrapErr) Unwrap() error { return e.inner }

// StackNotFoundError is a stack the backend does not hold, with stacks of
// its project that it does hold. It wraps ErrStackNotFound.
type StackNotFoundError struct {
	Ref     StackRef
	Backend string // the backend's URL
	// Others are stacks of the project in the backend, in listing order;
	// More is how many more it holds, or -1 when they were not counted.
	Others []string
	More   int
	Err    error
}

// namedOthers is how many of a project's stacks a not-found message names.
const namedOthers = 5

func (e *StackNotFoundError) Error() string {
	if len(e.Others) == 0 {
		return fmt.Sprintf("stack %s not found: backend %s holds no stacks of project %s", e.Ref, e.Backend, e.Ref.Project)
	}
	named, more := e.Others, e.More
	if len(named) > namedOthers {
		named, more = named[:namedOthers], len(named)-namedOthers+max(more, 0)
		if e.More < 0 {
			more = -1
		}
	}
	tail := ""
	switch {
	case more < 0:
		tail = " and more"
	case more > 0:
		tail = fmt.Sprintf(" and %s more", thousands(more))
	}
	return fmt.Sprintf("stack %s not found in backend %s; project %s has: %s%s", e.Ref, e.Backend, e.Ref.Project, strings.Join(named, ", "), tail)
}

// thousands formats n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func (e *StackNotFoundError) Unwrap() error { return e.Err }

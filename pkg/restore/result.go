package restore

import (
	"fmt"

	"github.com/stacksync/stacksync/pkg/secrets"
	"github.com/stacksync/stacksync/pkg/settings"
	"github.com/stacksync/stacksync/pkg/state"
)

// Status is what Run did, or in Check and Verify mode would do, to one
// stack's settings file.
type Status int

const (
	// Unchanged means the file already held what state records.
	Unchanged Status = iota
	// Created means there was no file (or an empty one) and one was written.
	Created
	// Updated means fields were added, replaced or removed.
	Updated
	// Conflict means the file holds a different value and Force was off;
	// nothing was written.
	Conflict
	// Missing means the backend holds no such stack; Result.Err wraps
	// state.ErrStackNotFound. Nothing was written.
	Missing
	// Failed means the stack could not be handled; Result.Err says why.
	Failed
)

var statusNames = [...]string{"unchanged", "created", "updated", "conflict", "missing", "error"}

// String returns the status as stacksync's JSON spells it: unchanged,
// created, updated, conflict, missing or error.
func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Result is one stack's outcome.
type Result struct {
	Ref state.StackRef
	// File is the stack's settings file.
	File   string
	Status Status
	// Written says the file was written: false in Check and Verify mode
	// and when it was Unchanged.
	Written bool
	// Resolved is the provider state records and where it was found: the
	// live checkpoint, or the backup or history checkpoint it fell back to.
	Resolved state.Resolved
	// SourceObject names the object the provider was read from (a path or
	// an s3:// URL), for messages.
	SourceObject string
	// Locked says the stack had a lock file: an update may be running.
	Locked bool
	// Edit names the keys set, removed or in conflict, never their values.
	Edit settings.Result
	// Verify is the verdict on whether pulumi will decrypt, with
	// Options.Verifier; nil when the stack failed before it could be asked.
	Verify *secrets.Result
	// Err is why the stack is Missing or Failed. Branch on it with
	// errors.Is and errors.As: state.ErrStackNotFound (a
	// *state.StackNotFoundError), state.ErrNoProvider, state.ErrCorrupt,
	// state.ErrTooLarge, ErrUnknownProvider, ErrUneditable, ErrSettingsIO, settings.ErrChanged…
	Err error
	// Before and After are the file's bytes and what the pipeline makes of
	// them. They hold config values: show them to no one.
	Before, After []byte
}

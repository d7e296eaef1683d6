package settings

import (
	"context"
	"errors"
	"fmt"

	"github.com/stacksync/stacksync/pkg/state"
)

// Status is what Restore did, or would do, to one stack's settings file.
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
	// Failed means the stack could not be restored; StackResult.Err says why.
	Failed
)

// String returns the status as the CLI's JSON spells it.
func (s Status) String() string {
	switch s {
	case Unchanged:
		return "unchanged"
	case Created:
		return "created"
	case Updated:
		return "updated"
	case Conflict:
		return "conflict"
	case Failed:
		return "error"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// RestoreOptions configure Restore. The zero value restores for real,
// refuses conflicts, and checks the stack's lock directory.
type RestoreOptions struct {
	// DryRun works out what would change and writes nothing.
	DryRun bool
	// Force replaces values that differ from state instead of reporting a
	// Conflict.
	Force bool
	// NoLockCheck skips listing the stack's lock directory; a caller that
	// listed every lock of the backend at once sets it.
	NoLockCheck bool
}

// StackResult is one stack's outcome.
type StackResult struct {
	Ref    state.StackRef
	File   string // the settings file's path
	Status Status
	// Written says the file was written: false under DryRun and when it
	// was Unchanged.
	Written bool
	// Resolved is the provider restored and where it was found; Locked
	// says an update may be running.
	Resolved state.Resolved
	// Edit names the keys set, removed or in conflict, never their values.
	Edit Result
	// Err is why the stack Failed; errors.Is it with state.ErrStackNotFound,
	// state.ErrNoProvider, state.ErrCorrupt, ErrConflict, ErrChanged…
	Err error
	// Before and After are the file's bytes and what the restore makes of
	// them. They hold config values: show them to no one.
	Before, After []byte
}

// EditError is a settings file Restore cannot edit: one it cannot parse
// as pulumi's, or that holds what stacksync will not touch.
type EditError struct {
	Path string
	Err  error
}

func (e *EditError) Error() string { return "editing " + e.Path + ": " + e.Err.Error() }
func (e *EditError) Unwrap() error { return e.Err }

// ErrUnknownProvider marks a checkpoint whose secrets provider type pulumi
// does not know, or whose state lacks what pulumi needs; restoring from it
// would write a settings file pulumi cannot use.
var ErrUnknownProvider = errors.New("unusable secrets provider in state")

// Restore puts back the secrets provider fields of ref's settings file in
// project p, as the stack's checkpoint in b records them (or, when the live
// checkpoint records none, its newest backup or history checkpoint that
// does). It edits the file as pulumi would — only the three provider keys,
// keeping comments, order and every config value — and replaces it
// atomically. It never writes to the backend.
func Restore(ctx context.Context, b *state.Backend, p *Project, ref state.StackRef, opts RestoreOptions) StackResult {
	r := StackResult{Ref: ref, Status: Failed}
	fail := func(err error) StackResult {
		r.Status, r.Err = Failed, err
		return r
	}
	path, err := p.SettingsPath(ref.Name)
	if err != nil {
		return fail(err)
	}
	r.File = path
	res, err := b.Provider(ctx, ref, state.LookupOptions{Fallback: true, Locks: !opts.NoLockCheck})
	r.Resolved = res
	switch {
	case errors.Is(err, state.ErrStackNotFound):
		return fail(b.StackNotFound(ctx, ref, err))
	case err != nil:
		return fail(err)
	}
	prov := res.Provider
	where := b.Store.Location(res.Source.Key)
	if !prov.Known() {
		return fail(fmt.Errorf("stack %s: %s records secrets provider type %q, which pulumi does not know: %w", ref, where, prov.Type, ErrUnknownProvider))
	}
	if err := prov.Complete(); err != nil {
		return fail(fmt.Errorf("stack %s: %s: %w (%w)", ref, where, err, ErrUnknownProvider))
	}
	var editErr error
	written, err := Update(ctx, path, func(cur []byte) ([]byte, error) {
		r.Before = cur
		r.After, r.Edit, editErr = Edit(cur, FieldsFor(prov), EditOptions{Format: FormatFor(path), Force: opts.Force})
		if opts.DryRun || editErr != nil {
			return cur, editErr // leave the file as it is
		}
		return r.After, nil
	})
	switch {
	case errors.Is(editErr, ErrConflict):
		r.Status = Conflict
		return r
	case editErr != nil:
		return fail(&EditError{Path: path, Err: editErr})
	case err != nil:
		return fail(err)
	}
	r.Written = written
	switch r.Edit.Action {
	case ActionCreated:
		r.Status = Created
	case ActionUpdated:
		r.Status = Updated
	default:
		r.Status = Unchanged
	}
	return r
}

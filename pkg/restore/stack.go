package restore

import (
	"context"
	"errors"
	"fmt"

	"github.com/stacksync/stacksync/pkg/settings"
	"github.com/stacksync/stacksync/pkg/state"
)

// listing is the project's stacks from one listing of the backend.
type listing struct {
	refs    []state.StackRef
	objects map[string]state.StackObject // by stack name
}

// list lists the project's stacks once per workspace, as pulumi stack ls
// would: a stack file left in the legacy location of a project-layout
// backend is no project's.
func (w *Workspace) list(ctx context.Context) (*listing, error) {
	if w.listing != nil {
		return w.listing, nil
	}
	proj := w.Project.Name
	all, err := w.Backend.ListStacks(ctx, proj)
	if err != nil {
		return nil, err
	}
	l := &listing{objects: map[string]state.StackObject{}}
	for _, s := range all.Stacks {
		if s.Legacy && !all.Legacy {
			continue
		}
		l.refs = append(l.refs, state.StackRef{Project: proj, Name: s.Ref.Name})
		l.objects[s.Ref.Name] = s
	}
	w.listing = l
	return l, nil
}

// one handles a single stack: its checkpoint, the variants and its lock
// directory are looked up in one round of concurrent requests.
func (w *Workspace) one(ctx context.Context, ref state.StackRef, opts Options) Result {
	r := Result{Ref: ref, Status: Failed}
	if r.File, r.Err = w.Project.SettingsPath(ref.Name); r.Err != nil {
		return r
	}
	res, err := w.Backend.Provider(ctx, ref)
	if errors.Is(err, state.ErrStackNotFound) {
		err = w.Backend.StackNotFound(ctx, ref, err)
	}
	return w.finish(ctx, r, res, res.Locked, err, opts)
}

// listed handles one of many stacks, found in the listing l; locked is the
// set of the project's locked stacks (nil when it could not be listed).
func (w *Workspace) listed(ctx context.Context, l *listing, locked map[string]bool, ref state.StackRef, opts Options) Result {
	r := Result{Ref: ref, Status: Failed}
	if r.File, r.Err = w.Project.SettingsPath(ref.Name); r.Err != nil {
		return r
	}
	obj, ok := l.objects[ref.Name]
	if !ok {
		return w.finish(ctx, r, state.Resolved{}, false, w.notFound(l, ref), opts)
	}
	obj.Ref = ref
	res, err := w.Backend.Resolve(ctx, obj, true)
	return w.finish(ctx, r, res, locked[ref.Name], err, opts)
}

// notFound is the error for a stack the listing l lacks; it names the
// stacks the project has.
func (w *Workspace) notFound(l *listing, ref state.StackRef) error {
	nf := &state.StackNotFoundError{Ref: ref, Backend: w.Backend.URL.Raw}
	for _, r := range l.refs {
		nf.Others = append(nf.Others, r.Name)
	}
	nf.Err = fmt.Errorf("stack %s: %w", ref, state.ErrStackNotFound)
	return nf
}

// finish takes a stack from its resolved provider (or the error that
// prevented it) to the edited settings file and the verdict.
func (w *Workspace) finish(ctx context.Context, r Result, res state.Resolved, locked bool, err error, opts Options) Result {
	r.Resolved = res
	if res.Provider.Type != "" {
		r.Locked = locked
		r.SourceObject = w.Backend.Store.Location(res.Source.Key)
	}
	switch {
	case errors.Is(err, state.ErrStackNotFound):
		r.Status, r.Err = Missing, err
		return r
	case err != nil:
		r.Err = err
		return r
	}
	prov := res.Provider
	if err := usable(prov, r.Ref, r.SourceObject); err != nil {
		r.Err = err
		if opts.Mode == Verify && opts.Verifier != nil {
			// The verdict names the bad state.
			v := opts.Verifier.Verify(ctx, prov)
			r.Verify = &v
		}
		return r
	}
	var editErr error
	written, err := settings.Update(ctx, r.File, func(cur []byte) ([]byte, error) {
		r.Before = cur
		r.After, r.Edit, editErr = settings.Edit(r.File, cur, fieldsFor(prov), opts.Force)
		if opts.Mode != Write || editErr != nil {
			return cur, editErr // leave the file as it is
		}
		return r.After, nil
	})
	switch {
	case errors.Is(editErr, settings.ErrConflict):
		r.Status = Conflict
	case editErr != nil:
		r.Err = &fileError{path: r.File, mark: ErrUneditable, err: editErr}
	case err != nil:
		r.Err = &fileError{path: r.File, mark: ErrSettingsIO, err: err}
	default:
		r.Written = written
		switch r.Edit.Action {
		case settings.ActionCreated:
			r.Status = Created
		case settings.ActionUpdated:
			r.Status = Updated
		default:
			r.Status = Unchanged
		}
	}
	if opts.Verifier != nil {
		r.Verify = verdict(ctx, opts, r)
	}
	return r
}

// usable refuses a provider restoring from which would write a settings
// file pulumi cannot use: an unknown type, or state lacking what pulumi
// needs. where names the object it was read from.
func usable(p state.SecretsProvider, ref state.StackRef, where string) error {
	if !p.Known() {
		return fmt.Errorf("stack %s: %s records secrets provider type %q, which pulumi does not know: %w", ref, where, p.Type, ErrUnknownProvider)
	}
	if err := p.Complete(); err != nil {
		return fmt.Errorf("stack %s: %s: %w (%w)", ref, where, err, ErrUnknownProvider)
	}
	return nil
}

// fieldsFor returns the settings file fields Pulumi itself writes for the
// secrets provider p (its EditProjectStack mapping): a cloud provider sets
// secretsprovider to the URL and encryptedkey to the encrypted key, verbatim;
// a passphrase provider sets only encryptionsalt; any other type clears all
// three.
func fieldsFor(p state.SecretsProvider) settings.Fields {
	switch p.Type {
	case state.TypeCloud:
		return settings.Fields{SecretsProvider: p.URL, EncryptedKey: p.EncryptedKey}
	case state.TypePassphrase:
		return settings.Fields{EncryptionSalt: p.Salt}
	}
	return settings.Fields{}
}

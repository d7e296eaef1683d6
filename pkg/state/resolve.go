package state

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// Resolved is the secrets provider recorded for a stack and where it was
// found.
type Resolved struct {
	Stack    StackObject
	Head     Head // the live checkpoint's head
	Provider SecretsProvider
	// Source is the live checkpoint, or the backup or history checkpoint
	// the provider came from when the live one records none.
	Source Source
	// Locked reports, with LookupOptions.Locks, that the stack's lock
	// directory held a file: an update may be running.
	Locked bool
}

// lookupOptions configure provider.
type lookupOptions struct {
	// Fallback, when the live checkpoint records no provider, takes the
	// one of the newest backup or history checkpoint that records one.
	Fallback bool
	// Locks also lists the stack's lock directory, in the same round
	// trip, and sets Resolved.Locked.
	Locks bool
}

// Provider returns the secrets provider recorded for ref: the live
// checkpoint's, or the newest backup or history checkpoint's when the live
// one records none; Resolved.Locked says whether the stack has a lock file.
// It returns an error wrapping ErrStackNotFound when the stack does not
// exist and ErrNoProvider when no checkpoint records a provider.
//
// On a remote store the round trips are what cost, so Provider sends its
// requests together: the layout's meta.yaml, the listing of the
// checkpoint's variants, a speculative read of the plain .json checkpoint
// and the lock listing, with keys for the project layout
// (or the layout already known). Only when the layout turns out legacy, or
// the listing shows a compressed variant is current, does a second round
// follow.
func (b *Backend) Provider(ctx context.Context, ref StackRef) (Resolved, error) {
	return b.provider(ctx, ref, lookupOptions{Fallback: true, Locks: true})
}

// provider is Provider with the fallback and the lock listing chosen.
func (b *Backend) provider(ctx context.Context, ref StackRef, opts lookupOptions) (Resolved, error) {
	if err := ValidateName("stack", ref.Name); err != nil {
		return Resolved{}, err
	}
	res, err := b.lookup(ctx, ref, opts.Locks)
	if err != nil {
		return res, err
	}
	return b.withProvider(ctx, res, opts.Fallback)
}

// Resolve is Provider for a stack already found by a listing (ListStacks):
// it reads s's checkpoint and, with fallback, the newest backup or history
// checkpoint that records a provider when the live one records none. It
// lists no lock directory: a caller with many stacks lists the backend's
// locks once (lockedStacks).
func (b *Backend) Resolve(ctx context.Context, s StackObject, fallback bool) (Resolved, error) {
	res := Resolved{Stack: s, Source: Source{Kind: "checkpoint", Key: s.Key, Time: s.ModTime}}
	var err error
	if res.Head, err = b.ReadHead(ctx, s.Key); err != nil {
		return res, fmt.Errorf("stack %s: %w", s.Ref, err)
	}
	return b.withProvider(ctx, res, fallback)
}

// withProvider sets res.Provider from the live checkpoint's head or, with
// fallback, from the newest earlier checkpoint that records one, and
// explains the absence of any as an error wrapping ErrNoProvider.
func (b *Backend) withProvider(ctx context.Context, res Resolved, fallback bool) (Resolved, error) {
	ref := res.Stack.Ref
	if res.Head.Provider != nil {
		res.Provider = *res.Head.Provider
		return res, nil
	}
	if fallback {
		recs, err := b.History(ctx, ref, func(r Record) bool { return r.Err == nil && r.Head.Provider != nil })
		if err != nil {
			return res, fmt.Errorf("stack %s: %w", ref, err)
		}
		for _, r := range recs {
			if r.Err == nil && r.Head.Provider != nil {
				res.Provider = *r.Head.Provider
				res.Source = r.Source
				return res, nil
			}
		}
	}
	var why string
	switch {
	case res.Head.Version < 3:
		why = fmt.Sprintf("checkpoint version %d predates secrets providers", res.Head.Version)
	case res.Head.HasLatest:
		why = "its latest deployment has no secrets_providers"
	default:
		why = "it was created by a pulumi release from before September 2024 and never deployed"
	}
	return res, fmt.Errorf("stack %s: %w in %s (%s), nor in any backup or history checkpoint; set the secrets provider by hand or run pulumi stack change-secrets-provider", ref, ErrNoProvider, b.Store.Location(res.Stack.Key), why)
}

// lookup finds ref's live checkpoint and reads it, and with locks lists
// its lock directory, in one round of concurrent requests when the layout
// is as guessed.
func (b *Backend) lookup(ctx context.Context, ref StackRef, locks bool) (Resolved, error) {
	guess := b.knownLayout()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg        sync.WaitGroup
		layout    keyLayout
		layoutErr error
		locked    bool
		lockErr   error
		spec      Head
		specErr   error
	)
	specKey := guess.checkpointBase(ref)
	specCtx, cancelSpec := context.WithCancel(ctx)
	defer cancelSpec()
	wg.Go(func() { layout, layoutErr = b.detectedLayout(ctx) })
	wg.Go(func() { spec, specErr = b.ReadHead(specCtx, specKey) })
	if locks {
		wg.Go(func() { locked, lockErr = b.hasLock(ctx, guess, ref) })
	}
	obj, findErr := b.find(ctx, guess, ref)
	if findErr != nil || obj.Key != specKey {
		cancelSpec() // the guess was wrong: do not read on
	}
	wg.Wait()
	if layoutErr != nil {
		return Resolved{}, layoutErr
	}
	if layout.Legacy != guess.Legacy {
		// A second round with the real layout's keys.
		return b.lookupIn(ctx, layout, ref, locks)
	}
	if findErr != nil {
		return Resolved{}, findErr
	}
	res := Resolved{Stack: obj, Source: Source{Kind: "checkpoint", Key: obj.Key, Time: obj.ModTime}, Locked: locked}
	if lockErr != nil && ctx.Err() != nil {
		return res, lockErr
	}
	head, err := spec, specErr
	if obj.Key != specKey || errors.Is(specErr, store.ErrNotFound) {
		// The listing found another variant, or the object appeared
		// between the read and the listing: read what pulumi would.
		head, err = b.ReadHead(ctx, obj.Key)
	}
	res.Head = head
	if err != nil {
		return res, fmt.Errorf("stack %s: %w", ref, err)
	}
	return res, nil
}

// lookupIn is lookup in a known layout, one request after the other.
func (b *Backend) lookupIn(ctx context.Context, layout keyLayout, ref StackRef, locks bool) (Resolved, error) {
	obj, err := b.find(ctx, layout, ref)
	if err != nil {
		return Resolved{}, err
	}
	res := Resolved{Stack: obj, Source: Source{Kind: "checkpoint", Key: obj.Key, Time: obj.ModTime}}
	if locks {
		// A lock only adds a warning: one that cannot be listed is none.
		res.Locked, _ = b.hasLock(ctx, layout, ref)
	}
	res.Head, err = b.ReadHead(ctx, obj.Key)
	if err != nil {
		return res, fmt.Errorf("stack %s: %w", ref, err)
	}
	return res, nil
}

// knownLayout is the layout if it has been detected, else the project
// layout, which every current pulumi writes.
func (b *Backend) knownLayout() keyLayout {
	if b.layoutKnown.Load() {
		return b.layout
	}
	return keyLayout{MetaVersion: 1}
}

// StackNotFound turns err, a missing stack's error, into a
// *StackNotFoundError that names a handful of the stacks of ref's project
// the backend holds, from one short listing that stops there. If they
// cannot be listed, it returns err.
func (b *Backend) StackNotFound(ctx context.Context, ref StackRef, err error) error {
	nf := &StackNotFoundError{Ref: ref, Err: err}
	if b.URL != nil {
		nf.Backend = b.URL.Raw
	}
	layout, lerr := b.detectedLayout(ctx)
	if lerr != nil {
		return err
	}
	prefix := layout.stacksPrefix(ref.Project)
	if layout.Legacy {
		prefix = stacksDir
	}
	lerr = b.Store.List(ctx, prefix, false, func(o store.Object) error {
		s, ext, ok := parseStackKey(o.Key)
		switch {
		case !ok || !isCheckpointExt(ext) || (len(nf.Others) > 0 && nf.Others[len(nf.Others)-1] == s.Name):
		case len(nf.Others) == namedOthers:
			nf.More = -1 // there are more: stop listing
			return errDone
		default:
			nf.Others = append(nf.Others, s.Name)
		}
		return nil
	})
	if lerr != nil && lerr != errDone {
		return err
	}
	return nf
}

// ProjectLocks lists the backend's lock files once and returns the names
// of project's stacks that have one. In the legacy layout a lock names no
// project, so every lock counts for the project.
func (b *Backend) ProjectLocks(ctx context.Context, project string) (map[string]bool, error) {
	layout, err := b.detectedLayout(ctx)
	if err != nil {
		return nil, err
	}
	all, err := b.lockedStacks(ctx)
	if err != nil {
		return nil, err
	}
	locked := map[string]bool{}
	for ref := range all {
		if layout.Legacy || ref.Project == project {
			locked[ref.Name] = true
		}
	}
	return locked, nil
}

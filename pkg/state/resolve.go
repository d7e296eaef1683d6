package state

import (
	"context"
	"fmt"
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
}

// Provider returns the secrets provider recorded for ref: the live
// checkpoint's, or, when that records none and fallback is true, the one of
// the newest backup or history checkpoint that records one. It returns an
// error wrapping ErrStackNotFound when the stack does not exist and
// ErrNoProvider when no checkpoint records a provider.
func (b *Backend) Provider(ctx context.Context, ref StackRef, fallback bool) (Resolved, error) {
	obj, err := b.Find(ctx, ref)
	if err != nil {
		return Resolved{}, err
	}
	res := Resolved{Stack: obj, Source: Source{Kind: "checkpoint", Key: obj.Key, Time: obj.ModTime}}
	res.Head, err = b.ReadHead(ctx, obj.Key)
	if err != nil {
		return res, fmt.Errorf("stack %s: %w", ref, err)
	}
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
	return res, fmt.Errorf("stack %s: %w in %s (%s), nor in any backup or history checkpoint; set the secrets provider by hand or run pulumi stack change-secrets-provider", ref, ErrNoProvider, b.Store.Location(obj.Key), why)
}

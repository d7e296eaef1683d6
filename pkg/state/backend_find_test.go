package state

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/pkg/state/store"
)

func TestFind(t *testing.T) {
	ctx := context.Background()
	b, _ := projectBucket()
	l, err := b.ListStacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Find picks the same object as ListStacks for every project stack.
	for _, s := range l.Stacks {
		if s.Legacy {
			continue
		}
		got, err := b.Find(ctx, s.Ref)
		if err != nil || got != s {
			t.Errorf("Find(%s) = %+v, %v; want %+v", s.Ref, got, err, s)
		}
	}
	for _, ref := range []StackRef{{"demo", "gone"}, {"demo", "stage"}, {"demo", "missing"}, {"nosuch", "dev"}, {"demo", "de"}} {
		_, err := b.Find(ctx, ref)
		if !errors.Is(err, ErrStackNotFound) || !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Find(%s) = %v, want ErrStackNotFound wrapping store.ErrNotFound", ref, err)
		}
		if err != nil && !strings.Contains(err.Error(), ref.String()) {
			t.Errorf("Find(%s) error %q does not name the stack", ref, err)
		}
	}
	for _, ref := range []StackRef{{"demo", "."}, {"demo", ".."}, {"..", "dev"}, {"", "old"}, {"demo", ""}, {"demo", "a/b"}} {
		if _, err := b.Find(ctx, ref); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Find(%+v) = %v, want ErrInvalidName", ref, err)
		}
	}
}

func TestErrStackNotFound(t *testing.T) {
	if !errors.Is(ErrStackNotFound, store.ErrNotFound) {
		t.Error("ErrStackNotFound does not wrap store.ErrNotFound")
	}
	// The other way round, on purpose: a missing object is no missing
	// stack.
	//lint:ignore SA1032 the arguments are swapped to check the relation is one-way
	if errors.Is(store.ErrNotFound, ErrStackNotFound) {
		t.Error("store.ErrNotFound matches ErrStackNotFound")
	}
}

package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/stacksync/stacksync/pkg/state/azblobstore"
	"github.com/stacksync/stacksync/pkg/state/dirstore"
	"github.com/stacksync/stacksync/pkg/state/gsstore"
	"github.com/stacksync/stacksync/pkg/state/postgresstore"
	"github.com/stacksync/stacksync/pkg/state/s3store"
	"github.com/stacksync/stacksync/pkg/state/store"
)

// maxSmallObject caps what is read of meta.yaml and of a lock file, both a
// few dozen bytes when pulumi writes them.
const maxSmallObject = 64 << 10

// Backend is a DIY backend opened read-only: a store and its layout.
type Backend struct {
	URL   *BackendURL
	Store store.Store

	// MaxCheckpointSize caps the bytes decoded from one checkpoint, after
	// decompression; zero means DefaultMaxCheckpointSize.
	MaxCheckpointSize int64

	layoutOnce  sync.Once
	layout      keyLayout
	layoutErr   error
	layoutKnown atomic.Bool // layout holds a detected layout

	// decoders bounds what concurrent decodes hold.
	decoders *decoderPool
}

// Open opens a parsed backend URL (ParseBackendURL): an s3:// URL with
// s3store.New on u.S3, a file:// URL with dirstore.New. Set
// MaxCheckpointSize on the result before its first use to change the cap.
func Open(ctx context.Context, u *BackendURL) (*Backend, error) {
	var s store.Store
	var err error
	switch u.Scheme {
	case "s3":
		s, err = s3store.New(ctx, u.S3)
	case "gs":
		s, err = gsstore.New(ctx, u.GS)
	case "azblob":
		s, err = azblobstore.New(ctx, u.Azure)
	case "postgres":
		s, err = postgresstore.New(ctx, u.Postgres)
	default:
		s, err = dirstore.New(u.Dir, u.Prefix)
	}
	if err != nil {
		return nil, err
	}
	return newBackend(u, s), nil
}

// newBackend returns a backend over an already opened store; u may be nil.
func newBackend(u *BackendURL, s store.Store) *Backend {
	return &Backend{URL: u, Store: s, decoders: newDecoderPool(DefaultZstdDecoders)}
}

// detectedLayout detects the backend's layout once and caches it.
func (b *Backend) detectedLayout(ctx context.Context) (keyLayout, error) {
	b.layoutOnce.Do(func() {
		b.layout, b.layoutErr = detectLayout(ctx, b.Store)
		b.layoutKnown.Store(b.layoutErr == nil)
	})
	return b.layout, b.layoutErr
}

// StackObject is one live stack of a backend: its reference and the
// checkpoint object Pulumi would read for it.
type StackObject struct {
	Ref StackRef
	store.Object
	// Legacy is true for a stack file in the legacy location.
	Legacy bool
}

// Listing is the result of ListStacks.
type Listing struct {
	// Legacy says the backend is in the legacy (non-project) layout.
	Legacy bool
	Stacks []StackObject
	// Unreadable are stack files Pulumi lists but cannot load (a .yaml or
	// .yml checkpoint).
	Unreadable []store.Object
}

// ListStacks lists the live stacks of the given projects (all when none),
// applying Pulumi's listing filter and choosing each stack's checkpoint
// variant as Pulumi does. In project mode it also returns stack files left
// in the legacy location, marked Legacy. It reads no object but meta.yaml.
func (b *Backend) ListStacks(ctx context.Context, projects ...string) (Listing, error) {
	layout, err := b.detectedLayout(ctx)
	if err != nil {
		return Listing{}, err
	}
	l := Listing{Legacy: layout.Legacy}
	picked := map[StackRef]int{}
	add := func(o store.Object) error {
		ref, ext, ok := parseStackKey(o.Key)
		if !ok {
			return nil
		}
		if !isCheckpointExt(ext) {
			l.Unreadable = append(l.Unreadable, o)
			return nil
		}
		if i, seen := picked[ref]; seen {
			// Keys come in lexicographic order (.json < .json.gz <
			// .json.zst); a later one wins unless strictly older.
			if !o.ModTime.Before(l.Stacks[i].ModTime) {
				l.Stacks[i].Object = o
			}
			return nil
		}
		picked[ref] = len(l.Stacks)
		l.Stacks = append(l.Stacks, StackObject{Ref: ref, Object: o, Legacy: ref.Project == ""})
		return nil
	}
	wanted := func(p string) bool {
		if len(projects) == 0 {
			return true
		}
		for _, w := range projects {
			if w == p {
				return true
			}
		}
		return false
	}
	switch {
	case layout.Legacy:
		err = b.Store.List(ctx, stacksDir, false, add)
	case len(projects) > 0:
		for _, p := range projects {
			if err = ValidateName("project", p); err != nil {
				return Listing{}, err
			}
			if err = b.Store.List(ctx, layout.stacksPrefix(p), false, add); err != nil {
				break
			}
		}
		if err == nil {
			err = b.Store.List(ctx, stacksDir, false, add)
		}
	default:
		err = b.Store.List(ctx, stacksDir, true, add)
	}
	if err != nil {
		return Listing{}, err
	}
	// In legacy mode a stack's project is unknown from its key.
	if !layout.Legacy {
		kept := l.Stacks[:0]
		for _, s := range l.Stacks {
			if s.Legacy || wanted(s.Ref.Project) {
				kept = append(kept, s)
			}
		}
		l.Stacks = kept
	}
	sort.Slice(l.Stacks, func(i, j int) bool { return refLess(l.Stacks[i].Ref, l.Stacks[j].Ref) })
	return l, nil
}

// Find returns the checkpoint object Pulumi would read for ref: the newest
// of <stack>.json, .json.gz and .json.zst (on a tie zst, then gz, then
// plain). A stack with none of them (a .bak alone, say) is an error wrapping
// ErrStackNotFound.
func (b *Backend) Find(ctx context.Context, ref StackRef) (StackObject, error) {
	layout, err := b.detectedLayout(ctx)
	if err != nil {
		return StackObject{}, err
	}
	return b.find(ctx, layout, ref)
}

// find is Find in a given layout.
func (b *Backend) find(ctx context.Context, layout keyLayout, ref StackRef) (StackObject, error) {
	if err := ValidateName("stack", ref.Name); err != nil {
		return StackObject{}, err
	}
	if !layout.Legacy {
		if err := ValidateName("project", ref.Project); err != nil {
			return StackObject{}, err
		}
	}
	// Pulumi lists with prefix <base>.json and picks among the variants
	// it finds (spec §1.6); the listing comes in key order, and a later
	// variant wins unless strictly older.
	base := layout.checkpointBase(ref)
	variants := []string{base, base + ".gz", base + ".zst"}
	var found *store.Object
	err := b.Store.List(ctx, base, false, func(o store.Object) error {
		if slices.Contains(variants, o.Key) && (found == nil || !o.ModTime.Before(found.ModTime)) {
			found = &o
		}
		return nil
	})
	if err != nil {
		return StackObject{}, err
	}
	if found == nil {
		return StackObject{}, fmt.Errorf("stack %s: %w at %s", ref, ErrStackNotFound, b.Store.Location(base))
	}
	return StackObject{Ref: ref, Object: *found, Legacy: layout.Legacy}, nil
}

// ReadHead reads the checkpoint at key whole, with one read of the store,
// and decodes its head as decodeCheckpoint does: in constant memory, and at most
// MaxCheckpointSize decoded bytes.
func (b *Backend) ReadHead(ctx context.Context, key string) (Head, error) {
	rc, err := b.Store.ReadRange(ctx, key, 0, -1)
	if err != nil {
		return Head{}, err
	}
	defer rc.Close()
	h, err := decodeCheckpoint(ctx, rc, decodeOptions{MaxSize: b.MaxCheckpointSize, Decoders: b.decoders})
	if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrUnsupportedVersion) {
		return h, fmt.Errorf("%s: %w", b.Store.Location(key), err)
	}
	// A store's read error names the object already.
	return h, err
}

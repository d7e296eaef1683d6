// Package store is the seam between stacksync and the places a Pulumi DIY
// backend keeps its objects: the Store interface every backend store
// implements, the Object it lists, and the errors callers branch on.
//
// The contract every Store keeps (the storetest package checks it):
//
//   - Keys are relative to the backend's root, use "/" separators and
//     never start with "/"; a store adds its own bucket, directory or
//     prefix. Stacksync's keys all start with ".pulumi/".
//   - List reports the objects whose keys start with the prefix, in
//     lexicographic key order. The prefix need not end in "/": a prefix
//     such as ".pulumi/stacks/p/dev.json" lists dev.json, dev.json.gz and
//     dev.json.bak. Non-recursive, it leaves out the objects whose key has
//     a "/" after the prefix, as an S3 listing with the "/" delimiter does.
//     A prefix under which nothing exists lists nothing, without error.
//   - Size is the object's length in bytes, and ModTime when it was last
//     written, to the second at least; List and Stat agree on both.
//   - A missing object is an error wrapping ErrNotFound; a refusal for
//     lack of permission or credentials, one wrapping ErrAccessDenied.
//   - Errors, of a call and of the reader ReadRange returns, name the
//     object, the prefix or the store concerned, as Location does, so a
//     caller can print them as they are. An error from List's fn is
//     returned as it is.
//   - A call made with an ended context fails with an error that matches
//     the context's own error under errors.Is, bare or with the object's
//     location in front: never a store error or a transport message.
//   - Stores only read: no method writes to the backend.
package store

import (
	"context"
	"errors"
	"io"
	"time"
)

// Object describes one object of a store.
type Object struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Store is read-only access to the objects of a DIY backend. It is the only
// place where backend I/O happens. A store knows nothing about Pulumi.
type Store interface {
	// List calls fn for each object whose key starts with prefix, in
	// lexicographic key order. With recursive false it lists only the
	// objects with no "/" in their key after prefix. An error from fn
	// stops the listing and is returned as it is.
	List(ctx context.Context, prefix string, recursive bool, fn func(Object) error) error
	// Stat returns the object at key. A missing object is an error
	// wrapping ErrNotFound.
	Stat(ctx context.Context, key string) (Object, error)
	// ReadRange opens n bytes of the object at key, starting at off; n < 0
	// reads to the end. A range past the end of the object reads as
	// empty. A missing object is an error wrapping ErrNotFound. Errors of
	// the reader it returns name the object too.
	ReadRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error)
	// Location names key for messages: a path or a URL that ends in key.
	Location(key string) string
}

// Errors callers branch on with errors.Is. A store's errors wrap them with
// the object, prefix or store concerned.
var (
	// ErrNotFound marks a missing object, or a missing bucket or
	// directory of a backend.
	ErrNotFound = errors.New("not found")
	// ErrAccessDenied marks a store refusing a request for lack of
	// permission or credentials.
	ErrAccessDenied = errors.New("access denied")
)

package state

import (
	"context"
	"io"
	"time"
)

// Object describes one object of a store. Keys are relative to the
// backend's root (they start with ".pulumi/") and use "/" separators.
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
	// objects directly under prefix (which then ends in "/"), as a listing
	// with the "/" delimiter does. An error from fn stops the listing and is
	// returned.
	List(ctx context.Context, prefix string, recursive bool, fn func(Object) error) error
	// ReadRange opens n bytes of the object at key, starting at off; n < 0
	// reads to the end. A missing object is an error wrapping ErrNotFound.
	// Errors, of the call and of the reader it returns, name the object,
	// except a context's own error, which is returned bare.
	ReadRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error)
	// Location names key for messages: a path or an s3:// URL.
	Location(key string) string
}

// statStore is a Store that can look one object up more cheaply than by
// listing its directory.
type statStore interface {
	Stat(ctx context.Context, key string) (Object, error)
}

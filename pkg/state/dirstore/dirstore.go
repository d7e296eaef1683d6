// Package dirstore is the store.Store of a file:// backend: a local
// directory, as gocloud's fileblob writes it.
package dirstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// ErrSymlink marks a path inside a backend directory that is a symbolic
// link, which the store does not follow.
var ErrSymlink = errors.New("is a symbolic link, which stacksync does not follow inside a backend directory")

// dirStore is a store.Store over a local directory: the root of a file://
// backend. It skips the ".attrs" sidecar files gocloud's fileblob writes
// next to each object.
//
// It follows no symbolic link inside the root (the root itself may be
// one): a listing leaves linked files and directories out, as pulumi's own
// listing (filepath.Walk) does for directories, and reading, looking up or
// listing through a link is an error wrapping ErrSymlink. So every command
// sees the same objects, and a backend directory written by others cannot
// make stacksync read a file outside it. Only regular files are objects: a
// FIFO, socket or device is never opened.
type dirStore struct {
	root string
	// prefix is the fileblob prefix= parameter, joined into every key.
	prefix string
}

// New returns the store of the backend directory dir, whose keys all start
// with prefix (fileblob's prefix= parameter; usually ""). The directory
// must exist: a missing one is an error wrapping store.ErrNotFound.
func New(dir, prefix string) (store.Store, error) {
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("backend directory %s: %w; check the file:// URL", dir, store.ErrNotFound)
		}
		return nil, fmt.Errorf("backend directory %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("backend %s is not a directory", dir)
	}
	return &dirStore{root: dir, prefix: prefix}, nil
}

func (s *dirStore) path(key string) string {
	return filepath.Join(s.root, filepath.FromSlash(s.prefix+key))
}

// Location implements store.Store.
func (s *dirStore) Location(key string) string { return s.path(key) }

// List implements store.Store. It reads the deepest directory the prefix
// names in full (the parent of a prefix such as "p/dev.json") and keeps the
// entries that start with the prefix. A prefix that reaches through a link,
// by a directory of it or as a whole, is an error wrapping ErrSymlink;
// links inside the directories listed are left out.
func (s *dirStore) List(ctx context.Context, prefix string, recursive bool, fn func(store.Object) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	full := s.prefix + prefix
	dirKey := full[:strings.LastIndex(full, "/")+1]
	if err := s.noLinks(dirKey); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if full != dirKey {
		// The prefix may name a link itself: the stack file a listing of
		// its variants looks for, say.
		p := s.path(prefix)
		if st, err := os.Lstat(p); err == nil && st.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s: %w", p, ErrSymlink)
		}
	}
	var objs []store.Object
	var walk func(rel string) error
	walk = func(rel string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, err := os.ReadDir(filepath.Join(s.root, filepath.FromSlash(rel)))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("listing %s: %w", filepath.Join(s.root, filepath.FromSlash(rel)), err)
		}
		for _, e := range entries {
			key := rel + e.Name()
			if e.IsDir() {
				if recursive && (strings.HasPrefix(key+"/", full) || strings.HasPrefix(full, key+"/")) {
					if err := walk(key + "/"); err != nil {
						return err
					}
				}
				continue
			}
			if !strings.HasPrefix(key, full) || strings.HasSuffix(key, ".attrs") {
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue // removed while listing
			}
			if !info.Mode().IsRegular() {
				continue
			}
			objs = append(objs, store.Object{Key: strings.TrimPrefix(key, s.prefix), Size: info.Size(), ModTime: info.ModTime()})
		}
		return nil
	}
	if err := walk(dirKey); err != nil {
		return err
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	for _, o := range objs {
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

// noLinks checks that no component of key below the root is a symbolic
// link. It returns an error wrapping fs.ErrNotExist when one is missing.
func (s *dirStore) noLinks(key string) error {
	rel := strings.Trim(key, "/")
	if rel == "" {
		return nil
	}
	path := s.root
	for _, part := range strings.Split(rel, "/") {
		path = filepath.Join(path, part)
		st, err := os.Lstat(path)
		if err != nil {
			return err
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s: %w", path, ErrSymlink)
		}
	}
	return nil
}

// Stat implements store.Store. A missing object, or anything but a regular
// file, is an error wrapping store.ErrNotFound; a link, ErrSymlink.
func (s *dirStore) Stat(ctx context.Context, key string) (store.Object, error) {
	if err := ctx.Err(); err != nil {
		return store.Object{}, err
	}
	if strings.HasSuffix(key, ".attrs") {
		return store.Object{}, fmt.Errorf("%s: %w", s.path(key), store.ErrNotFound)
	}
	if err := s.noLinks(s.prefix + key); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return store.Object{}, fmt.Errorf("%s: %w", s.path(key), store.ErrNotFound)
		}
		return store.Object{}, err
	}
	st, err := os.Lstat(s.path(key))
	if err != nil {
		return store.Object{}, fmt.Errorf("%s: %w", s.path(key), err)
	}
	if !st.Mode().IsRegular() {
		return store.Object{}, fmt.Errorf("%s is not a regular file: %w", s.path(key), store.ErrNotFound)
	}
	return store.Object{Key: key, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// ReadRange implements store.Store.
func (s *dirStore) ReadRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.noLinks(s.prefix + key); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", s.path(key), store.ErrNotFound)
		}
		return nil, err
	}
	// Non-blocking, so a FIFO planted in the backend cannot hang the
	// open; no following, so a link swapped in after the check is refused.
	f, err := os.OpenFile(s.path(key), os.O_RDONLY|syscall.O_NONBLOCK|oNoFollow, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: %w", s.path(key), store.ErrNotFound)
	case errors.Is(err, syscall.ELOOP):
		return nil, fmt.Errorf("%s: %w", s.path(key), ErrSymlink)
	case err != nil:
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file: %w", s.path(key), store.ErrNotFound)
	}
	if off > 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", s.path(key), err)
		}
	}
	if n < 0 {
		return f, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, n), f}, nil
}

package state

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
)

// DirStore is a Store over a local directory: the root of a file:// backend.
// It skips the ".attrs" sidecar files gocloud's fileblob writes next to each
// object.
type DirStore struct {
	root string
	// prefix is the fileblob prefix= parameter, joined into every key.
	prefix string
}

// NewDirStore returns a store rooted at dir. The directory must exist.
func NewDirStore(dir, prefix string) (*DirStore, error) {
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("backend directory %s: %w; check the file:// URL", dir, ErrNotFound)
		}
		return nil, fmt.Errorf("backend directory %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("backend %s is not a directory", dir)
	}
	return &DirStore{root: dir, prefix: prefix}, nil
}

func (s *DirStore) path(key string) string {
	return filepath.Join(s.root, filepath.FromSlash(s.prefix+key))
}

// Location implements Store.
func (s *DirStore) Location(key string) string { return s.path(key) }

// List implements Store.
func (s *DirStore) List(ctx context.Context, prefix string, recursive bool, fn func(Object) error) error {
	full := s.prefix + prefix
	// Walk from the deepest directory the prefix names in full.
	dirKey := full[:strings.LastIndex(full, "/")+1]
	var objs []Object
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
			objs = append(objs, Object{Key: strings.TrimPrefix(key, s.prefix), Size: info.Size(), ModTime: info.ModTime()})
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

// ReadRange implements Store.
func (s *DirStore) ReadRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", s.path(key), ErrNotFound)
	}
	if err != nil {
		return nil, err
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

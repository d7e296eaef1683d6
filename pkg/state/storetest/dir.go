package storetest

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// WriteDir writes objects (key → content) under prefix in a fresh
// temporary directory, as gocloud's fileblob lays out a file:// backend:
// one file per object, last modified at modTime, with an .attrs sidecar
// next to each. It returns the directory.
func WriteDir(t testing.TB, prefix string, objects map[string][]byte, modTime time.Time) string {
	t.Helper()
	root := t.TempDir()
	for k, v := range objects {
		p := filepath.Join(root, filepath.FromSlash(prefix+k))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, v, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p+".attrs", []byte(`{"user.cache_control":""}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, modTime, modTime); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

//go:build unix

package settings

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Another writer appends to the file between the read and
// the rename. The edit is redone on the new bytes, so the appended line
// survives; a file that keeps changing is left to the other writer.
func TestUpdateConcurrentChange(t *testing.T) {
	edit := func(calls *int) func([]byte) ([]byte, error) {
		return func(old []byte) ([]byte, error) {
			*calls++
			return append([]byte("encryptionsalt: v1:x\n"), old...), nil
		}
	}
	appendLine := func(t *testing.T, path string) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString("  other:writer: kept\n"); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	// sameSize rewrites the file in place with other bytes of the same
	// length and puts the mtime back: only the content shows the change.
	sameSize := func(t *testing.T, path string) {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte("C"), 0); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	// replaced puts a new file (new inode) with the same bytes in place.
	replaced := func(t *testing.T, path string) {
		b := []byte(readFile(t, path))
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		change func(*testing.T, string)
		times  int // how many checks see a change
		want   string
		calls  int
		err    bool
	}{
		{"append once", appendLine, 1, "encryptionsalt: v1:x\nconfig:\n  a: b\n  other:writer: kept\n", 2, false},
		{"same size, same mtime", sameSize, 1, "encryptionsalt: v1:x\nConfig:\n  a: b\n", 2, false},
		{"new inode, same bytes", replaced, 1, "encryptionsalt: v1:x\nconfig:\n  a: b\n", 2, false},
		{"append twice", appendLine, 2, "config:\n  a: b\n  other:writer: kept\n  other:writer: kept\n", 2, true},
		{"no change", nil, 0, "encryptionsalt: v1:x\nconfig:\n  a: b\n", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "Pulumi.dev.yaml")
			if err := os.WriteFile(path, []byte("config:\n  a: b\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			past := time.Now().Add(-time.Hour)
			if err := os.Chtimes(path, past, past); err != nil {
				t.Fatal(err)
			}
			seen := 0
			u := updater{beforeCheck: func(target string) {
				if seen++; seen <= tt.times {
					tt.change(t, target)
				}
			}}
			calls := 0
			written, err := u.update(context.Background(), path, edit(&calls))
			if tt.err {
				if !errors.Is(err, ErrChanged) || written || !strings.Contains(err.Error(), path) {
					t.Fatalf("update = %v, %v; want ErrChanged naming the file", written, err)
				}
			} else if err != nil || !written {
				t.Fatalf("update = %v, %v", written, err)
			}
			if got := readFile(t, path); got != tt.want {
				t.Errorf("file holds %q, want %q", got, tt.want)
			}
			if calls != tt.calls {
				t.Errorf("edit ran %d times, want %d", calls, tt.calls)
			}
			if names := dirNames(t, dir); strings.Join(names, ",") != "Pulumi.dev.yaml" {
				t.Errorf("directory holds %q; want no temporary files", names)
			}
		})
	}

	// A file created while a new one was being written is not replaced.
	path := filepath.Join(t.TempDir(), "Pulumi.dev.yaml")
	u := updater{beforeCheck: func(target string) {
		if _, err := os.Stat(target); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(target, []byte("config: {}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}}
	calls := 0
	if _, err := u.update(context.Background(), path, edit(&calls)); err != nil || calls != 2 {
		t.Fatalf("update = %v after %d edits", err, calls)
	}
	if got := readFile(t, path); got != "encryptionsalt: v1:x\nconfig: {}\n" {
		t.Errorf("file holds %q", got)
	}
}

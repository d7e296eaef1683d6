//go:build unix

package settings

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// dirNames lists a directory, to spot leftover temporary files.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteFileUnchangedKeepsMtime(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Pulumi.dev.yaml")
	if err := os.WriteFile(path, []byte("same\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, past, past); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(path, []byte("same\n")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(past) {
		t.Errorf("mtime changed to %v; want %v", fi.ModTime(), past)
	}
	// Same size, different bytes is written.
	if err := writeFile(path, []byte("diff\n")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "diff\n" {
		t.Errorf("content = %q", got)
	}
}

func TestWriteFileFailureCleansUp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Pulumi.dev.yaml")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	u := updater{rename: func(string, string) error { return errors.New("injected failure") }}
	_, err := u.update(context.Background(), path, func([]byte) ([]byte, error) { return []byte("new\n"), nil })
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("writeFile = %v; want the injected error, naming the file", err)
	}
	if got := readFile(t, path); got != "old\n" {
		t.Errorf("original changed to %q", got)
	}
	if names := dirNames(t, dir); strings.Join(names, ",") != "Pulumi.dev.yaml" {
		t.Errorf("directory holds %q; want no temporary files", names)
	}
}

// A settings file in a stackConfigDir that a fresh checkout lacks: the
// directory is created, as pulumi creates it.
func TestWriteFileCreatesMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "config")
	path := filepath.Join(dir, "Pulumi.dev.yaml")
	if err := writeFile(path, []byte("encryptionsalt: v1:x\n")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "encryptionsalt: v1:x\n" {
		t.Errorf("content %q", got)
	}
	if got := dirNames(t, dir); len(got) != 1 || got[0] != "Pulumi.dev.yaml" {
		t.Errorf("directory holds %v", got)
	}
}

// Update leaves the file alone when the edit keeps the bytes, when it
// fails, and when the context is done.
func TestUpdateNoWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Pulumi.dev.yaml")
	if err := os.WriteFile(path, []byte("config: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for name, tc := range map[string]struct {
		ctx  context.Context
		edit func([]byte) ([]byte, error)
		err  error
	}{
		"same bytes": {context.Background(), func(b []byte) ([]byte, error) { return b, nil }, nil},
		"edit error": {context.Background(), func([]byte) ([]byte, error) { return []byte("x"), boom }, boom},
		"canceled":   {canceled, func([]byte) ([]byte, error) { return []byte("x"), nil }, context.Canceled},
	} {
		written, err := Update(tc.ctx, path, tc.edit)
		if written || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%s: Update = %v, %v; want false, %v", name, written, err, tc.err)
		}
		if got := readFile(t, path); got != "config: {}\n" {
			t.Errorf("%s: file changed to %q", name, got)
		}
	}
	// No file and nothing to write: no file.
	missing := filepath.Join(t.TempDir(), "Pulumi.new.yaml")
	if written, err := Update(context.Background(), missing, func(b []byte) ([]byte, error) { return nil, nil }); written || err != nil {
		t.Errorf("Update of a missing file with nothing to write = %v, %v", written, err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty file created: %v", err)
	}
}

// writeFile atomically replaces the file at path with data, as [Update]
// does with an edit that returns data. When the file already holds data,
// nothing is written and its mtime is unchanged.
func writeFile(path string, data []byte) error {
	_, err := Update(context.Background(), path, func([]byte) ([]byte, error) { return data, nil })
	return err
}

//go:build unix

package settings

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A project file that is not a small regular file is the project file
// still, as for pulumi: FindProject refuses it at once with one line that
// names it, never blocks on it, and never passes it over for a parent's.
func TestFindProjectBounds(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"Pulumi.yaml": "name: parent\n"})
	special := func(make func(path string) error) string {
		t.Helper()
		dir, err := os.MkdirTemp(root, "proj")
		if err != nil {
			t.Fatal(err)
		}
		if err := make(filepath.Join(dir, "Pulumi.yaml")); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	fifo := special(func(p string) error { return syscall.Mkfifo(p, 0o644) })
	zero := special(func(p string) error { return os.Symlink("/dev/zero", p) })
	large := special(func(p string) error {
		if err := os.WriteFile(p, []byte("name: large\n"), 0o644); err != nil {
			return err
		}
		return os.Truncate(p, 1<<30)
	})
	linked := special(func(p string) error {
		target := filepath.Join(filepath.Dir(p), "project.yaml")
		if err := os.WriteFile(target, []byte("name: linked\n"), 0o644); err != nil {
			return err
		}
		return os.Symlink(target, p)
	})
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		dir      string
		wantName string
		wantErr  string
		is       error
	}{
		{name: "symlink to a regular file", dir: linked, wantName: "linked"},
		{name: "named pipe", dir: fifo, wantErr: filepath.Join(fifo, "Pulumi.yaml") + " is a named pipe (FIFO), not a regular file"},
		{name: "/dev/zero", dir: zero, wantErr: filepath.Join(zero, "Pulumi.yaml") + " is a device, not a regular file"},
		{name: "1 GiB", dir: large, wantErr: filepath.Join(large, "Pulumi.yaml") + " is larger than 4 MiB, the most stacksync reads of a Pulumi project file"},
		{name: "canceled", ctx: canceled, dir: linked, wantErr: "Pulumi.yaml", is: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			type result struct {
				p   *Project
				err error
			}
			done := make(chan result, 1)
			go func() {
				p, err := FindProject(ctx, tt.dir)
				done <- result{p, err}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("FindProject(%s) blocked", tt.dir)
			}
			if tt.wantErr == "" {
				if r.err != nil || r.p.Name != tt.wantName {
					t.Fatalf("FindProject = %+v, %v; want project %s", r.p, r.err, tt.wantName)
				}
				return
			}
			if r.err == nil || !strings.Contains(r.err.Error(), tt.wantErr) || strings.Contains(r.err.Error(), "\n") {
				t.Fatalf("FindProject = %+v, %v; want one line holding %q", r.p, r.err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(r.err, tt.is) {
				t.Errorf("FindProject error %v does not wrap %v", r.err, tt.is)
			}
		})
	}
}

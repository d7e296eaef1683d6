package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/stacksync/stacksync/pkg/settings"
	"github.com/stacksync/stacksync/pkg/state"
)

// workspace is what every command that touches a project resolves first:
// the directory, the project (when there is one) and the backend.
type workspace struct {
	dir     string
	project *settings.Project
	backend *state.Backend
	// locked is the backend's locked stacks from one listing (loadLocks);
	// nil until loaded, when isLocked asks per stack.
	locked map[state.StackRef]bool
	legacy bool // the backend is in the legacy layout
}

// loadLocks lists the backend's lock files once, so that isLocked answers
// for many stacks without a listing each.
func (w *workspace) loadLocks(ctx context.Context) error {
	layout, err := w.backend.Layout(ctx)
	if err != nil {
		return err
	}
	locked, err := w.backend.LockedStacks(ctx)
	if err != nil {
		return err
	}
	w.locked, w.legacy = locked, layout.Legacy
	return nil
}

// isLocked reports whether the backend-wide lock listing (loadLocks) holds
// a lock of ref; without one it says false, and Provider's own listing
// answers.
func (w *workspace) isLocked(ref state.StackRef) bool {
	if w.locked == nil {
		return false
	}
	if w.legacy {
		// A legacy lock's key names no project.
		return w.locked[state.StackRef{Name: ref.Name}]
	}
	return w.locked[ref]
}

// openWorkspace finds the Pulumi project from dir (required when
// needProject) and opens its backend.
func openWorkspace(ctx context.Context, e *env, dir, flagURL string, needProject bool) (*workspace, error) {
	if dir == "" {
		dir = e.cwd
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join(e.cwd, dir)
	}
	// FindProject searches upward; a mistyped -C must not land in a parent
	// project instead.
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, usageError{msg: fmt.Sprintf("-C %s: no such directory", dir)}
	}
	w := &workspace{dir: dir}
	proj, err := settings.FindProject(dir)
	switch {
	case err == nil:
		w.project = proj
	case needProject || !errors.Is(err, settings.ErrNoProject):
		return nil, err
	}
	return w, w.openBackend(ctx, e, flagURL, nil)
}

// openBackend opens the workspace's backend: flagURL, else
// PULUMI_BACKEND_URL, else the project's backend.url, else pulumi's
// credentials.json. A relative file:// URL resolves against the workspace
// directory, as pulumi run there would resolve it. With a cache, backends
// are shared between workspaces that name the same one.
func (w *workspace) openBackend(ctx context.Context, e *env, flagURL string, cache map[string]*state.Backend) error {
	projectURL := ""
	if w.project != nil {
		projectURL = w.project.BackendURL
	}
	raw, source, err := state.ResolveBackendURL(flagURL, projectURL, e.getenv, e.home)
	if err != nil {
		return err
	}
	u, err := state.ParseBackendURL(raw, w.dir, e.home)
	if err != nil {
		return fmt.Errorf("backend %s (from %s): %w", raw, source, err)
	}
	// A relative file:// URL names a different directory per workspace.
	key := raw
	if u.Scheme == "file" {
		key = "file://" + u.Dir + "?prefix=" + u.Prefix
	}
	if b, ok := cache[key]; ok {
		w.backend = b
		return nil
	}
	maxSize, err := maxCheckpointSize(e)
	if err != nil {
		return err
	}
	u.S3.CABundle = e.caBundle
	if w.backend, err = state.OpenURL(ctx, u, state.OpenOptions{MaxCheckpointSize: maxSize}); err != nil {
		return fmt.Errorf("opening backend %s (from %s): %w", raw, source, err)
	}
	if cache != nil {
		cache[key] = w.backend
	}
	return nil
}

// openCheckWorkspace opens a project's workspace, sharing backends between
// projects that name the same one.
func openCheckWorkspace(ctx context.Context, e *env, dir, flagURL string, cache map[string]*state.Backend) (*workspace, error) {
	proj, err := settings.LoadProject(dir)
	if err != nil {
		return nil, err
	}
	w := &workspace{dir: proj.Dir, project: proj}
	if err := w.openBackend(ctx, e, flagURL, cache); err != nil {
		return nil, fmt.Errorf("%s: %w", proj.Path, err)
	}
	return w, nil
}

// maxCheckpointEnv raises (or lowers) the cap on the bytes decoded from one
// checkpoint, for a real checkpoint larger than the default.
const maxCheckpointEnv = "STACKSYNC_MAX_CHECKPOINT_SIZE"

// maxCheckpointSize reads maxCheckpointEnv: a number of bytes, with an
// optional KiB, MiB or GiB suffix; unset means the default.
func maxCheckpointSize(e *env) (int64, error) {
	v := strings.TrimSpace(e.getenv(maxCheckpointEnv))
	if v == "" {
		return 0, nil
	}
	num, unit := v, int64(1)
	for suffix, u := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if n, ok := strings.CutSuffix(v, suffix); ok {
			num, unit = strings.TrimSpace(n), u
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/unit {
		return 0, usageError{msg: fmt.Sprintf("%s=%q: want a positive number of bytes, e.g. 512MiB", maxCheckpointEnv, short(v))}
	}
	return n * unit, nil
}

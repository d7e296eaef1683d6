package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/stacksync/stacksync/pkg/restore"
)

// openWorkspace finds the Pulumi project from dir (-C; required when
// needProject) and opens its backend: flagURL, else as pulumi resolves it.
func openWorkspace(ctx context.Context, e *env, dir, flagURL string, needProject bool) (*restore.Workspace, error) {
	if dir == "" {
		dir = e.cwd
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join(e.cwd, dir)
	}
	// The project is searched for upward; a mistyped -C must not land in
	// a parent project instead.
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, usageError{msg: fmt.Sprintf("-C %s: no such directory", dir)}
	}
	cfg, err := workspaceConfig(e, flagURL)
	if err != nil {
		return nil, err
	}
	cfg.ProjectOptional = !needProject
	w, err := restore.Open(ctx, dir, cfg)
	return w, hint(err)
}

// workspaceConfig is the restore.Config of a command run in e with
// --backend flagURL.
func workspaceConfig(e *env, flagURL string) (restore.Config, error) {
	maxSize, err := maxCheckpointSize(e)
	if err != nil {
		return restore.Config{}, err
	}
	return restore.Config{BackendURL: flagURL, Getenv: e.getenv, Home: e.home, CABundle: e.caBundle, MaxCheckpointSize: maxSize}, nil
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

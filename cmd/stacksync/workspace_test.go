package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// TestMaxCheckpointSize: STACKSYNC_MAX_CHECKPOINT_SIZE lowers (or raises)
// the decode cap, and the too-large error says how to raise it.
func TestMaxCheckpointSize(t *testing.T) {
	f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev")})
	var errb bytes.Buffer
	e := &env{stdout: io.Discard, stderr: &errb, home: f.root, cwd: f.project, getenv: func(k string) string {
		if k == maxCheckpointEnv {
			return "100"
		}
		return ""
	}}
	code := run(context.Background(), []string{"restore", "dev", "--backend", "file://" + f.backend}, e)
	errs := errb.String()
	if code != exitError || !strings.Contains(errs, "checkpoint too large") || !strings.Contains(errs, maxCheckpointEnv) {
		t.Errorf("restore with a 100-byte cap: exit %d, stderr %q", code, errs)
	}
	for v, want := range map[string]int64{"": 0, "1024": 1024, "2KiB": 2048, "512 MiB": 512 << 20, "1GiB": 1 << 30} {
		got, err := maxCheckpointSize(&env{getenv: func(string) string { return v }})
		if err != nil || got != want {
			t.Errorf("maxCheckpointSize(%q) = %d, %v; want %d", v, got, err, want)
		}
	}
	for _, v := range []string{"-1", "0", "lots", "9999999999GiB"} {
		if _, err := maxCheckpointSize(&env{getenv: func(string) string { return v }}); err == nil {
			t.Errorf("maxCheckpointSize(%q) accepted", v)
		}
	}
}

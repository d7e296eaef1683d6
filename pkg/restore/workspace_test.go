package restore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stacksync/stacksync/pkg/restore"
	"github.com/stacksync/stacksync/pkg/state"
)

// TestOpenBackendOrder: an explicit URL comes before PULUMI_BACKEND_URL,
// which comes before the project's backend.url, as in pulumi.
func TestOpenBackendOrder(t *testing.T) {
	dir, cleanup := scratchProject()
	defer cleanup()
	explicit := "file://" + exampleBackend
	env := func(k string) string {
		if k == "PULUMI_BACKEND_URL" {
			return "file://" + exampleBackend + "/.."
		}
		return ""
	}
	w, err := restore.Open(context.Background(), dir, restore.Config{BackendURL: explicit, Getenv: env, Home: t.TempDir()})
	if err != nil || w.Backend.URL.Raw != explicit {
		t.Fatalf("Open with an explicit URL: %v, %v; want %s", w, err, explicit)
	}
	w, err = restore.Open(context.Background(), dir, restore.Config{Getenv: env, Home: t.TempDir()})
	if err != nil || w.Backend.URL.Raw != env("PULUMI_BACKEND_URL") {
		t.Fatalf("Open from the environment: %v, %v; want %s", w, err, env("PULUMI_BACKEND_URL"))
	}
	_, err = restore.Open(context.Background(), dir, restore.Config{Getenv: func(string) string { return "" }, Home: t.TempDir()})
	if !errors.Is(err, state.ErrNoBackendURL) {
		t.Fatalf("Open with no backend anywhere: %v, want ErrNoBackendURL", err)
	}
}

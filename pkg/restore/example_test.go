package restore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/stacksync/stacksync/pkg/restore"
	"github.com/stacksync/stacksync/pkg/state"
)

// scratchProject copies the repository's example project, whose settings
// files pulumi regenerated without their secrets provider, into a
// temporary directory.
func scratchProject() (string, func()) {
	dir, err := os.MkdirTemp("", "stacksync-example")
	if err != nil {
		panic(err)
	}
	src := filepath.Join("..", "..", "examples", "project")
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			panic(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			panic(err)
		}
	}
	return dir, func() { os.RemoveAll(dir) }
}

// exampleBackend is the repository's example file:// backend.
var exampleBackend, _ = filepath.Abs(filepath.Join("..", "..", "examples", "backend"))

// A Go program, such as an Automation API program about to call
// UpsertStackLocalSource, restores a stack's settings file before pulumi
// reads it, so pulumi uses the stack's secrets provider and does not ask
// for a passphrase. Without Config.BackendURL the backend is resolved as
// pulumi resolves it (PULUMI_BACKEND_URL, backend.url, pulumi login).
func ExampleStacks() {
	dir, cleanup := scratchProject()
	defer cleanup()
	ctx := context.Background()
	cfg := restore.Config{BackendURL: "file://" + exampleBackend}

	results, err := restore.Stacks(ctx, dir, []string{"dev.my-service.us-west-2"}, cfg, restore.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	r := results[0]
	if r.Err != nil {
		fmt.Println(r.Err)
		return
	}
	fmt.Println(r.Status, filepath.Base(r.File), r.Resolved.Provider.Kind(), r.Edit.Set)

	// A second run finds the file right and writes nothing.
	again, _ := restore.Stacks(ctx, dir, []string{"dev.my-service.us-west-2"}, cfg, restore.Options{})
	fmt.Println(again[0].Status, again[0].Written)
	// Output:
	// updated Pulumi.dev.my-service.us-west-2.yaml awskms [secretsprovider encryptedkey]
	// unchanged false
}

// Checking for drift, as a CI policy job would: Check mode works out what
// a restore would do and writes nothing.
func ExampleWorkspace_Run() {
	dir, cleanup := scratchProject()
	defer cleanup()
	ctx := context.Background()

	w, err := restore.Open(ctx, dir, restore.Config{BackendURL: "file://" + exampleBackend})
	if err != nil {
		fmt.Println(err)
		return
	}
	refs, err := w.Stacks(ctx, []string{"dev.my-service.us-west-2", "staging", "prod"}, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	err = w.Run(ctx, refs, restore.Options{Mode: restore.Check}, func(r restore.Result) error {
		fmt.Println(r.Ref.Name, r.Status, r.Written, r.Edit.Set, errors.Is(r.Err, state.ErrStackNotFound))
		return nil
	})
	fmt.Println(err)
	// Output:
	// dev.my-service.us-west-2 updated false [secretsprovider encryptedkey] false
	// staging updated false [encryptionsalt] false
	// prod missing false [] true
	// <nil>
}

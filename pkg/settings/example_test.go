package settings_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/stacksync/stacksync/pkg/settings"
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

// A Go program, such as an Automation API program about to call
// UpsertStackLocalSource, restores a stack's settings file before pulumi
// reads it, so pulumi uses the stack's secrets provider and does not ask
// for a passphrase.
func ExampleRestore() {
	dir, cleanup := scratchProject()
	defer cleanup()
	ctx := context.Background()

	project, err := settings.FindProject(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	backend, err := state.Open(ctx, "file://../../examples/backend", ".", "")
	if err != nil {
		fmt.Println(err)
		return
	}
	ref := state.StackRef{Project: project.Name, Name: "dev.my-service.us-west-2"}
	r := settings.Restore(ctx, backend, project, ref, settings.RestoreOptions{})
	if r.Err != nil {
		fmt.Println(r.Err)
		return
	}
	fmt.Println(r.Status, filepath.Base(r.File), r.Resolved.Provider.Kind(), r.Edit.Set)

	// A second run finds the file right and writes nothing.
	again := settings.Restore(ctx, backend, project, ref, settings.RestoreOptions{})
	fmt.Println(again.Status, again.Written)
	// Output:
	// updated Pulumi.dev.my-service.us-west-2.yaml awskms [secretsprovider encryptedkey]
	// unchanged false
}

// Checking for drift, as a CI policy job would: DryRun works out what a
// restore would do and writes nothing.
func ExampleRestore_check() {
	dir, cleanup := scratchProject()
	defer cleanup()
	ctx := context.Background()

	project, _ := settings.FindProject(dir)
	backend, _ := state.Open(ctx, "file://../../examples/backend", ".", "")
	refs, err := backend.ProjectStacks(ctx, project.Name)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ref := range refs {
		r := settings.Restore(ctx, backend, project, ref, settings.RestoreOptions{DryRun: true})
		fmt.Println(ref.Name, r.Status, r.Written, r.Edit.Set)
	}
	// A stack the backend does not hold.
	r := settings.Restore(ctx, backend, project, state.StackRef{Project: project.Name, Name: "prod"}, settings.RestoreOptions{DryRun: true})
	fmt.Println(r.Status, errors.Is(r.Err, state.ErrStackNotFound))
	// Output:
	// dev.my-service.us-west-2 updated false [secretsprovider encryptedkey]
	// staging updated false [encryptionsalt]
	// error true
}

package restore

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/stacksync/stacksync/pkg/settings"
	"github.com/stacksync/stacksync/pkg/state"
)

// Config says how Open finds a project's backend. The zero value resolves
// it as pulumi does, from the process environment.
type Config struct {
	// BackendURL names the backend; "" resolves it as pulumi does:
	// PULUMI_BACKEND_URL, then the project's backend.url, then the current
	// backend of pulumi login (credentials.json).
	BackendURL string
	// Getenv reads the environment; os.Getenv when nil.
	Getenv func(string) string
	// Home is the user's home directory, for ~ in file:// URLs and
	// ~/.pulumi/credentials.json; os.UserHomeDir when "".
	Home string
	// CABundle is the PEM file of the certificate authorities an S3
	// endpoint is checked against (AWS_CA_BUNDLE), read at the first TLS
	// handshake.
	CABundle string
	// MaxCheckpointSize caps the bytes decoded from one checkpoint; zero
	// means state.DefaultMaxCheckpointSize.
	MaxCheckpointSize int64
	// ProjectOptional opens the backend even when dir is in no Pulumi
	// project (Workspace.Project is then nil).
	ProjectOptional bool
	// Backends, when not nil, shares backends between the workspaces
	// opened with it that name the same one.
	Backends map[string]*state.Backend
}

// Workspace is a Pulumi project and the backend that holds its stacks.
type Workspace struct {
	// Dir is the directory the workspace was opened from: relative
	// file:// URLs are relative to it, as for pulumi run there.
	Dir string
	// Project is the project file found from Dir; nil only with
	// Config.ProjectOptional.
	Project *settings.Project
	Backend *state.Backend

	// listing is the project's stacks from one listing of the backend,
	// kept by Stacks for Run.
	listing *listing
}

// Open finds the Pulumi project that dir is in, as pulumi does (dir, then
// its parents), and opens the backend it uses.
func Open(ctx context.Context, dir string, cfg Config) (*Workspace, error) {
	w := &Workspace{Dir: dir}
	p, err := settings.FindProject(ctx, dir)
	switch {
	case err == nil:
		w.Project = p
	case !cfg.ProjectOptional || !errors.Is(err, settings.ErrNoProject):
		return nil, err
	}
	if w.Backend, err = openBackend(ctx, w, cfg); err != nil {
		return nil, err
	}
	return w, nil
}

// openBackend resolves and opens the workspace's backend. A relative
// file:// URL resolves against the workspace directory.
func openBackend(ctx context.Context, w *Workspace, cfg Config) (*state.Backend, error) {
	getenv, home := cfg.Getenv, cfg.Home
	if getenv == nil {
		getenv = os.Getenv
	}
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	projectURL := ""
	if w.Project != nil {
		projectURL = w.Project.BackendURL
	}
	raw, from := cfg.BackendURL, ""
	if raw == "" {
		var err error
		if raw, from, err = state.ResolveBackendURL(ctx, projectURL, getenv, home); err != nil {
			return nil, err
		}
		from = " (from " + from + ")"
	}
	u, err := state.ParseBackendURL(raw, w.Dir, home)
	if err != nil {
		return nil, fmt.Errorf("backend %s%s: %w", state.Redact(raw), from, err)
	}
	// A relative file:// URL names a different directory per workspace.
	key := raw
	if u.Scheme == "file" {
		key = "file://" + u.Dir + "?prefix=" + u.Prefix
	}
	if b, ok := cfg.Backends[key]; ok {
		return b, nil
	}
	u.S3.CABundle = cfg.CABundle
	b, err := state.Open(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("opening backend %s%s: %w", u.Raw, from, err)
	}
	b.MaxCheckpointSize = cfg.MaxCheckpointSize
	if cfg.Backends != nil {
		cfg.Backends[key] = b
	}
	return b, nil
}

// Stacks turns stack names (stack, project/stack or
// organization/project/stack) into references of the workspace's project,
// dropping repeats. With all, it returns every stack of the project the
// backend holds, from one listing that Run then reuses, and names must be
// empty. A name of another project is an error wrapping ErrOtherProject,
// an invalid one an error wrapping state.ErrInvalidName.
func (w *Workspace) Stacks(ctx context.Context, names []string, all bool) ([]state.StackRef, error) {
	proj := w.Project.Name
	if all {
		l, err := w.list(ctx)
		if err != nil {
			return nil, err
		}
		if len(l.refs) == 0 {
			return nil, markf(ErrNoStacks, "backend %s holds no stacks of project %s", w.Backend.URL.Raw, proj)
		}
		return l.refs, nil
	}
	refs := make([]state.StackRef, 0, len(names))
	seen := map[state.StackRef]bool{}
	for _, s := range names {
		ref, err := state.ParseStackRef(s, proj)
		if err != nil {
			return nil, err
		}
		if seen[ref] {
			continue
		}
		seen[ref] = true
		if ref.Project != proj {
			return nil, markf(ErrOtherProject, "stack %s belongs to project %s, but %s is project %s", s, ref.Project, w.Project.Path, proj)
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

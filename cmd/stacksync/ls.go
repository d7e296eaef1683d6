package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// lsOptions are ls's flags.
type lsOptions struct {
	projects           []string
	backendURL, output string
	timeout            *time.Duration
}

func newLsCmd(e *env, code *int) *cobra.Command {
	var o lsOptions
	cmd := newCommand("ls",
		"List the stacks of a backend",
		`Ls lists the stacks of a backend, as project/stack, from object listings alone
(plus the small .pulumi/meta.yaml that decides the layout): no checkpoint is read.
It is a fast "pulumi stack ls --all" for DIY backends.

Exit codes: 0 listed, 1 the backend could not be listed, 2 usage, 130 interrupted.`,
		`  # Every stack of the bucket
  stacksync ls --backend s3://my-pulumi-state

  # The stacks of project web, with their objects and sizes, as JSON
  stacksync ls --backend file://./state --project web -o json`,
		func(cmd *cobra.Command, args []string) int { return runLs(cmd.Context(), e, &o, args) }, code)
	fs := cmd.Flags()
	addBackend(fs, &o.backendURL, backendUsage)
	addProjects(fs, &o.projects, "list only project `P` (repeatable)")
	addOutput(fs, &o.output, "text", "text or json")
	o.timeout = addTimeout(fs)
	return cmd
}

// runLs lists stacks from object listings alone: no checkpoint is read.
// It refuses positional arguments pos.
func runLs(ctx context.Context, e *env, o *lsOptions, pos []string) int {
	err := checkOutput(o.output, "text", "json")
	switch {
	case len(pos) > 0:
		err = usageError{msg: fmt.Sprintf("unexpected argument %q; ls takes only flags", short(pos[0]))}
	case err == nil:
		err = checkTimeout(*o.timeout)
	}
	if err != nil {
		return fail(e, err)
	}
	ctx, cancel := withTimeout(ctx, *o.timeout)
	defer cancel()
	w, err := openWorkspace(ctx, e, "", o.backendURL, false)
	if err != nil {
		return failRun(ctx, e, err)
	}
	l, err := w.Backend.ListStacks(ctx, o.projects...)
	if err != nil {
		return failRun(ctx, e, fmt.Errorf("listing %s: %w", w.Backend.URL.Raw, err))
	}
	names := make([]string, 0, len(l.Stacks))
	for _, s := range l.Stacks {
		names = append(names, s.Ref.String())
	}
	if o.output == "json" {
		type entry struct {
			Project string    `json:"project"`
			Stack   string    `json:"stack"`
			Object  string    `json:"object"`
			Size    int64     `json:"size"`
			Updated time.Time `json:"last_modified"`
			Legacy  bool      `json:"legacy"`
		}
		out := make([]entry, 0, len(l.Stacks))
		for _, s := range l.Stacks {
			out = append(out, entry{s.Ref.Project, s.Ref.Name, w.Backend.Store.Location(s.Key), s.Size, s.ModTime, s.Legacy})
		}
		return encodeJSON(e, out)
	}
	for _, n := range names {
		fmt.Fprintln(e.stdout, safe(n))
	}
	return exitOK
}

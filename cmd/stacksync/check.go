package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/stacksync/stacksync/pkg/restore"
	"github.com/stacksync/stacksync/pkg/settings"
	"github.com/stacksync/stacksync/pkg/state"
)

// checkOptions are check's flags.
type checkOptions struct {
	backendURL, output string
	allStacks          bool
	timeout            *time.Duration
}

func newCheckCmd(e *env, code *int) *cobra.Command {
	var o checkOptions
	cmd := newCommand("check [DIR]...",
		"Compare the settings files committed in a repository with state",
		`Check walks the directories (default: the current one) for Pulumi projects and
compares each committed settings file with what its stack's checkpoint records,
as restore --check would, without writing anything. Each file is ok, differs,
missing-fields, or no-stack (the backend lacks its stack); with --all-stacks,
backend stacks without a settings file are reported as no-file. Each project's
backend is resolved as pulumi resolves it, unless --backend is given.

Exit codes: 0 clean, 1 error, 2 usage, 3 drift found, 130 interrupted.`,
		`  # Every project of the repository, against the backends their Pulumi.yaml name
  stacksync check

  # Two project trees against one bucket, with the stacks that lack a file, as JSON
  stacksync check infra services --backend s3://my-pulumi-state --all-stacks -o json`,
		func(cmd *cobra.Command, args []string) int { return runCheck(cmd.Context(), e, &o, args) }, code)
	fs := cmd.Flags()
	addBackend(fs, &o.backendURL, "backend `URL` (default: per project, as pulumi resolves it)")
	fs.BoolVar(&o.allStacks, "all-stacks", false, "also report backend stacks of each project that have no settings file")
	addOutput(fs, &o.output, "text", "text or json")
	o.timeout = addTimeout(fs)
	return cmd
}

// finding is one settings file's (or backend stack's) status; its JSON
// form is part of check's contract.
type finding struct {
	Project string `json:"project"`
	Stack   string `json:"stack"`
	File    string `json:"file,omitempty"`
	Status  string `json:"status"` // ok, differs, missing-fields, no-stack, no-file, error
	Detail  string `json:"detail,omitempty"`
}

// checkFinding is the finding of one settings file from its stack's
// result in Check mode.
func checkFinding(e *env, r restore.Result) finding {
	f := finding{Project: r.Ref.Project, Stack: r.Ref.Name, File: relPath(e.cwd, r.File)}
	kind := r.Resolved.Provider.Kind()
	switch r.Status {
	case restore.Unchanged:
		f.Status = "ok"
	case restore.Missing:
		f.Status, f.Detail = "no-stack", "the backend holds no such stack"
	case restore.Failed:
		f.Status, f.Detail = "error", stackHint(r).Error()
	case restore.Conflict:
		f.Status, f.Detail = "differs", "differs from state in "+strings.Join(r.Edit.Conflicts, ", ")+" ("+kind+")"
	default:
		f.Status, f.Detail = "missing-fields", "lacks "+strings.Join(append(r.Edit.Set, r.Edit.Removed...), ", ")+" ("+kind+")"
	}
	return f
}

// runCheck compares the settings files of the projects under the
// directories dirs with state.
func runCheck(ctx context.Context, e *env, o *checkOptions, dirs []string) int {
	backendURL, output, allStacks, timeout := o.backendURL, o.output, o.allStacks, o.timeout
	err := checkOutput(output, "text", "json")
	switch {
	case err != nil:
	case slices.Contains(dirs, ""):
		err = usageError{msg: "check: an empty directory argument; leave it out to check the current directory"}
	default:
		err = checkTimeout(*timeout)
	}
	if err != nil {
		return fail(e, err)
	}
	ctx, cancel := withTimeout(ctx, *timeout)
	defer cancel()
	if len(dirs) == 0 {
		dirs = []string{"."}
	}
	var findings []finding
	// add records a finding; text goes out finding by finding, so an
	// interrupt leaves those found on the screen.
	add := func(f finding) {
		findings = append(findings, f)
		if output == "json" {
			return
		}
		where := f.File
		if where == "" {
			where = f.Project + "/" + f.Stack
		}
		if f.Detail == "" {
			fmt.Fprintf(e.stdout, "%s: %s\n", safe(where), f.Status)
		} else {
			fmt.Fprintf(e.stdout, "%s: %s: %s\n", safe(where), f.Status, safe(f.Detail))
		}
	}
	// A directory that cannot be walked is reported like any other
	// finding; it does not hide the others.
	var projects []string
	for _, d := range dirs {
		if !filepath.IsAbs(d) {
			d = filepath.Join(e.cwd, d)
		}
		found, err := settings.FindProjects(d)
		if err != nil {
			add(finding{Project: d, Status: "error", Detail: err.Error()})
		}
		projects = append(projects, found...)
	}
	if len(projects) == 0 && len(findings) == 0 {
		errorLine(e, fmt.Errorf("no Pulumi project (Pulumi.yaml, Pulumi.yml or Pulumi.json) under %s", strings.Join(dirs, ", ")))
		return exitError
	}

	// First every project's workspace and settings files, so that the
	// count of stacks is known before any is read.
	type checkProject struct {
		w    *restore.Workspace
		refs []state.StackRef
	}
	var work []checkProject
	total := 0
	cfg, err := workspaceConfig(e, backendURL)
	if err != nil {
		return fail(e, err)
	}
	cfg.Backends = map[string]*state.Backend{}
	for _, path := range projects {
		proj, err := settings.LoadProject(ctx, path)
		if err != nil {
			if c, ok := stopped(ctx, e, 0, -1); ok {
				return c
			}
			add(finding{Project: path, Status: "error", Detail: err.Error()})
			continue
		}
		w, err := restore.Open(ctx, proj.Dir, cfg)
		if err != nil {
			if c, ok := stopped(ctx, e, 0, -1); ok {
				return c
			}
			add(finding{Project: path, Status: "error", Detail: fmt.Sprintf("%s: %v", proj.Path, hint(err))})
			continue
		}
		var refs []state.StackRef
		stacks, err := w.Project.SettingsFiles()
		if err == nil {
			refs, err = w.Stacks(ctx, stacks, false)
		}
		if err != nil {
			add(finding{Project: proj.Name, Status: "error", Detail: err.Error()})
			continue
		}
		work = append(work, checkProject{w, refs})
		total += len(refs)
	}

	// cut is set when a stop (interrupt or --timeout) cut the check short.
	done, cut := 0, false
	for _, cp := range work {
		w, proj := cp.w, cp.w.Project.Name
		have := map[string]bool{}
		err := w.Run(ctx, cp.refs, restore.Options{Mode: restore.Check}, func(r restore.Result) error {
			done++
			have[r.Ref.Name] = true
			add(checkFinding(e, r))
			return nil
		})
		if cut = ctx.Err() != nil; cut {
			break
		}
		if err != nil {
			add(finding{Project: proj, Status: "error", Detail: hint(err).Error()})
			continue
		}
		if allStacks {
			refs, err := w.Stacks(ctx, nil, true)
			switch {
			case errors.Is(err, restore.ErrNoStacks):
			case err != nil:
				if cut = ctx.Err() != nil; cut {
					break
				}
				add(finding{Project: proj, Status: "error", Detail: err.Error()})
				continue
			}
			if cut {
				break
			}
			for _, r := range refs {
				if have[r.Name] {
					continue
				}
				add(finding{Project: proj, Stack: r.Name, Status: "no-file", Detail: "the backend holds this stack but there is no settings file"})
			}
		}
	}
	code := exitOK
	for _, f := range findings {
		switch f.Status {
		case "ok":
		case "error":
			code = exitError
		default:
			if code == exitOK {
				code = exitDrift
			}
		}
	}
	// On a stop, the output holds the findings so far: in JSON, an array
	// of them, still valid JSON.
	if output == "json" {
		if findings == nil {
			findings = []finding{}
		}
		if c := encodeJSON(e, findings); c != exitOK {
			return c
		}
	}
	if cut {
		if c, ok := stopped(ctx, e, done, total); ok {
			return c
		}
	}
	return code
}

package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/stacksync/stacksync/pkg/settings"
	"github.com/stacksync/stacksync/pkg/state"
)

// restoreResult is one stack's outcome; its JSON form is part of the
// command's contract.
type restoreResult struct {
	Stack           string   `json:"stack"`
	Project         string   `json:"project"`
	File            string   `json:"file"`
	Action          string   `json:"action"` // created, updated, unchanged, conflict, error
	Provider        string   `json:"provider,omitempty"`
	SecretsProvider string   `json:"secretsprovider,omitempty"`
	Key             string   `json:"key,omitempty"`
	Source          string   `json:"source,omitempty"` // checkpoint, backup, history
	SourceObject    string   `json:"source_object,omitempty"`
	Set             []string `json:"set,omitempty"`
	Removed         []string `json:"removed,omitempty"`
	Conflicts       []string `json:"conflicts,omitempty"`
	SecureValues    int      `json:"secure_values,omitempty"`
	Locked          bool     `json:"locked,omitempty"`
	Legacy          bool     `json:"legacy,omitempty"`
	// Written says the file was written: false for unchanged files and
	// under --check and --dry-run, where Action says what would be done.
	Written bool   `json:"written"`
	Error   string `json:"error,omitempty"`
	// Diff is what --dry-run would change (text output only).
	Diff string `json:"-"`
	// err is the error behind Action "error", for callers to branch on.
	err error
	// before and after are the file's bytes and what restore makes of them.
	before, after []byte
}

func restoreCmd(ctx context.Context, args []string, e *env) int {
	fs := newFlagSet("restore", e)
	var stacks stringList
	var dir dirFlag
	var backendURL, output string
	var all, check, dryRun, force bool
	fs.Var(&stacks, "stack", "stack to restore (repeatable)")
	fs.Var(&stacks, "s", "shorthand for --stack")
	fs.BoolVar(&all, "all", false, "restore every stack of the project the backend holds")
	fs.Var(&dir, "cwd", "run as if in `DIR`")
	fs.Var(&dir, "C", "shorthand for --cwd")
	fs.StringVar(&backendURL, "backend", "", "backend `URL` (default: PULUMI_BACKEND_URL, Pulumi.yaml backend.url, pulumi login)")
	fs.BoolVar(&check, "check", false, "write nothing; exit 3 if any settings file is missing or differs from state")
	fs.BoolVar(&dryRun, "dry-run", false, "write nothing; print the diff of what would change")
	fs.BoolVar(&force, "force", false, "replace values that differ from state")
	fs.StringVar(&output, "output", "text", "output format: text or json")
	fs.StringVar(&output, "o", "text", "shorthand for --output")
	timeout := addTimeout(fs)
	pos, err := parseArgs(fs, args)
	if err == nil {
		stacks = append(stacks, pos...)
		switch {
		case output != "text" && output != "json":
			err = usageError{msg: fmt.Sprintf("--output %q: want text or json", short(output))}
		case all && len(stacks) > 0:
			err = usageError{msg: "give stacks or --all, not both"}
		case !all && len(stacks) == 0:
			err = usageError{msg: "no stack given: name stacks (-s NAME or positional) or pass --all"}
		default:
			err = checkTimeout(*timeout)
		}
	}
	if err != nil {
		return fail(e, err)
	}
	ctx, cancel := withTimeout(ctx, *timeout)
	defer cancel()

	w, err := openWorkspace(ctx, e, string(dir), backendURL, true)
	if err != nil {
		return failRun(ctx, e, err)
	}
	refs, err := restoreTargets(ctx, w, stacks, all)
	if err != nil {
		return failRun(ctx, e, err)
	}
	if len(refs) > 1 {
		// One listing of the lock files answers for every stack.
		if err := w.loadLocks(ctx); err != nil {
			return failRun(ctx, e, err)
		}
	}

	var results []restoreResult // for JSON
	done, code := 0, exitOK
	for _, ref := range refs {
		// Once stopped, start no other stack. A stack whose restore the
		// stop cut short wrote nothing (the write is one atomic rename,
		// done after every read), so it is not reported at all.
		if ctx.Err() != nil {
			break
		}
		r := restoreOne(ctx, w, ref, force, check || dryRun)
		if r.Action == "error" && ctx.Err() != nil {
			break
		}
		if errors.Is(r.err, state.ErrStackNotFound) {
			r.err = stackNotFound(ctx, w, ref, r.err)
			r.Error = r.err.Error()
		}
		if dryRun && r.Action != "unchanged" && r.Action != "error" && r.Action != "conflict" {
			r.Diff = unifiedDiff(relPath(w.dir, r.File), r.before, r.after)
		}
		done++
		switch {
		case r.Action == "error":
			code = exitError
		case r.Action == "conflict" && !check && code != exitError:
			code = exitConflict
		case check && r.Action != "unchanged" && code == exitOK:
			code = exitDrift
		}
		// Text goes out stack by stack, so an interrupt leaves the lines
		// of the stacks done on the screen.
		if output != "json" {
			printRestore(e, w, r, check, dryRun)
			printWarnings(e, r, false)
			continue
		}
		r.before, r.after = nil, nil
		results = append(results, r)
	}

	// JSON is one array of the stacks done, valid JSON after a stop too.
	if output == "json" {
		if results == nil {
			results = []restoreResult{}
		}
		if c := encodeJSON(e, results); c != exitOK {
			return c
		}
		for _, r := range results {
			printWarnings(e, r, true)
		}
	}
	if done < len(refs) {
		if c, ok := stopped(ctx, e, done, len(refs)); ok {
			return c
		}
	}
	return code
}

// printWarnings prints r's warnings on stderr, and with errors set its
// error too (which text output prints with the result).
func printWarnings(e *env, r restoreResult, errors bool) {
	if r.Locked {
		fmt.Fprintf(e.stderr, "stacksync: warning: stack %s has a lock file; an update may be running, so its checkpoint may be about to change\n", safe(r.Stack))
	}
	if r.Legacy {
		fmt.Fprintf(e.stderr, "stacksync: warning: stack %s is in the legacy (non-project) layout, which pulumi v3.274+ refuses unless PULUMI_DIY_BACKEND_IGNORE_DEPRECATION_ERROR=true; run pulumi state upgrade\n", safe(r.Stack))
	}
	if errors && r.Action == "error" {
		fmt.Fprintf(e.stderr, "stacksync: %s\n", safe(r.Error))
	}
}

// restoreTargets turns the stack arguments (or --all) into references.
func restoreTargets(ctx context.Context, w *workspace, stacks []string, all bool) ([]state.StackRef, error) {
	proj := w.project.Name
	if all {
		l, err := w.backend.ListStacks(ctx, proj)
		if err != nil {
			return nil, err
		}
		var refs []state.StackRef
		for _, s := range l.Stacks {
			// A legacy stack has no project in its key; it is this
			// project's only in a legacy-layout backend.
			if s.Legacy && !l.Layout.Legacy {
				continue
			}
			refs = append(refs, state.StackRef{Project: proj, Name: s.Ref.Name})
		}
		if len(refs) == 0 {
			return nil, fmt.Errorf("backend %s holds no stacks of project %s", w.backend.URL.Raw, proj)
		}
		return refs, nil
	}
	refs := make([]state.StackRef, 0, len(stacks))
	seen := map[state.StackRef]bool{}
	for _, s := range stacks {
		ref, err := state.ParseStackRef(s, proj)
		if err != nil {
			return nil, usageError{err.Error(), err}
		}
		if seen[ref] {
			continue
		}
		seen[ref] = true
		if ref.Project != proj {
			return nil, usageError{msg: fmt.Sprintf("stack %s belongs to project %s, but %s is project %s; run in that project's directory or pass -C", short(s), ref.Project, w.project.Path, proj)}
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// restoreOne restores one stack's settings file, or with dry set only
// works out what it would do. A missing stack's error is left as the state
// package returns it; stackNotFound makes the message for users.
func restoreOne(ctx context.Context, w *workspace, ref state.StackRef, force, dry bool) restoreResult {
	r := restoreResult{Stack: ref.Name, Project: ref.Project}
	fail := func(err error) restoreResult {
		r.Action, r.Error, r.err = "error", err.Error(), err
		return r
	}
	path, err := w.project.SettingsPath(ref.Name)
	if err != nil {
		return fail(err)
	}
	r.File = path
	// Without a backend-wide lock listing, the stack's own is listed in
	// the same round trip as its checkpoint.
	res, err := w.backend.Provider(ctx, ref, state.LookupOptions{Fallback: true, Locks: w.locked == nil})
	switch {
	case errors.Is(err, state.ErrCorrupt):
		// A damaged meta.yaml is not the checkpoint, and its message says
		// what to do already.
		if _, lerr := w.backend.Layout(ctx); lerr != nil {
			return fail(err)
		}
		return fail(fmt.Errorf("%w; the checkpoint is damaged: repair it, or put back its .bak or a copy from .pulumi/backups", err))
	case err != nil:
		return fail(err)
	}
	p := res.Provider
	r.Provider, r.Key, r.SecretsProvider = p.Kind(), p.KeyID(), p.CloudURL()
	if res.Source.Kind != "checkpoint" {
		r.Source, r.SourceObject = res.Source.Kind, w.backend.Store.Location(res.Source.Key)
	} else {
		r.Source = "checkpoint"
	}
	if !p.Known() {
		return fail(fmt.Errorf("stack %s: %s records secrets provider type %q, which pulumi does not know; fix the checkpoint or set the settings file by hand", ref, w.backend.Store.Location(res.Source.Key), p.Type))
	}
	if err := p.Complete(); err != nil {
		return fail(fmt.Errorf("stack %s: %s: %w; fix the checkpoint or set the settings file by hand", ref, w.backend.Store.Location(res.Source.Key), err))
	}
	r.Legacy = res.Stack.Legacy
	r.Locked = res.Locked || w.isLocked(ref)

	var old, out []byte
	var er settings.Result
	var editErr error
	written, err := settings.Update(ctx, path, func(cur []byte) ([]byte, error) {
		old = cur
		out, er, editErr = settings.Edit(cur, settings.FieldsFor(p), settings.EditOptions{Format: settings.FormatFor(path), Force: force})
		if dry || editErr != nil {
			return cur, editErr // leave the file as it is
		}
		return out, nil
	})
	r.Set, r.Removed, r.Conflicts, r.SecureValues = er.Set, er.Removed, er.Conflicts, er.SecureValues
	switch {
	case errors.Is(editErr, settings.ErrConflict):
		r.Action = "conflict"
		return r
	case editErr != nil:
		return fail(fmt.Errorf("editing %s: %w; fix the file or move it aside", path, editErr))
	case err != nil:
		return fail(err)
	}
	r.Action = er.Action.String()
	r.before, r.after = old, out
	r.Written = written
	return r
}

// notFoundError is a missing stack's rewritten message that still wraps
// the original error, so callers can test it with errors.Is.
type notFoundError struct {
	msg string
	err error
}

func (e notFoundError) Error() string { return e.msg }
func (e notFoundError) Unwrap() error { return e.err }

// stackNotFound rewrites a missing stack's error to list the project's
// stacks that do exist. The result still wraps err.
func stackNotFound(ctx context.Context, w *workspace, ref state.StackRef, err error) error {
	l, lerr := w.backend.ListStacks(ctx, ref.Project)
	if lerr != nil {
		return err
	}
	var names []string
	for _, s := range l.Stacks {
		if !s.Legacy || l.Layout.Legacy {
			names = append(names, s.Ref.Name)
		}
	}
	if len(names) == 0 {
		return notFoundError{fmt.Sprintf("stack %s not found: backend %s holds no stacks of project %s; check the backend URL and the project name", ref, w.backend.URL.Raw, ref.Project), err}
	}
	return notFoundError{fmt.Sprintf("stack %s not found in backend %s; project %s has: %s", ref, w.backend.URL.Raw, ref.Project, strings.Join(names, ", ")), err}
}

func printRestore(e *env, w *workspace, r restoreResult, check, dryRun bool) {
	file := safe(relPath(w.dir, r.File))
	what := r.Provider
	if r.Key != "" {
		what += " " + r.Key
	}
	if r.Source == "backup" || r.Source == "history" {
		what += ", from " + r.Source + " " + r.SourceObject
	}
	what = safe(what)
	stack := safe(r.Stack)
	switch r.Action {
	case "error":
		fmt.Fprintf(e.stderr, "stacksync: %s\n", safe(r.Error))
		return
	case "conflict":
		fmt.Fprintf(e.stdout, "%s: conflict: %s in %s differs from state (%s); refusing to change the file", stack, strings.Join(safeAll(r.Conflicts), ", "), file, what)
		if r.SecureValues > 0 {
			fmt.Fprintf(e.stdout, "; %d secure config value(s) in it were encrypted with the present value and would be unreadable after --force", r.SecureValues)
		}
		fmt.Fprintln(e.stdout, "; rerun with --force to replace it")
		return
	}
	verb := r.Action
	switch {
	case r.Action == "unchanged":
		verb = "up to date"
	case check || dryRun:
		verb = "would be " + r.Action
	}
	fmt.Fprintf(e.stdout, "%s: %s %s (%s)\n", stack, verb, file, what)
	if r.Diff != "" {
		fmt.Fprint(e.stdout, r.Diff)
	}
}

// relPath shortens path for output when it is under dir.
func relPath(dir, path string) string {
	if rel, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}

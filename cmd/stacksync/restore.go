package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
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
	// Verify is the --verify verdict on the stack after the restore.
	Verify *verifyResult `json:"verify,omitempty"`
	// Diff is what --dry-run would change (text output only).
	Diff string `json:"-"`
	// provider is what the checkpoint records, for --verify.
	provider state.SecretsProvider
	// err is the error behind Action "error", for callers to branch on.
	err error
	// before and after are the file's bytes and what restore makes of them.
	before, after []byte
}

// restoreOptions are restore's flags.
type restoreOptions struct {
	stackFlags
	check, dryRun, force, missingOK, verify bool
}

func newRestoreCmd(e *env, code *int) *cobra.Command {
	var o restoreOptions
	cmd := newCommand("restore [STACK]...",
		"Restore the secrets provider fields of stack settings files from state",
		`Restore writes secretsprovider, encryptedkey and encryptionsalt into each stack's
settings file (Pulumi.<stack>.yaml) from what the stack's checkpoint in the backend
records, as pulumi itself would have written them. Missing fields are filled and
matching ones left alone; a value that differs from state is a conflict (exit 4)
unless --force. Files are written atomically and keep comments, key order, mode
and every config value. Nothing is ever written to the backend.

Stacks are named with -s/--stack or as positional arguments: stack,
project/stack or organization/project/stack.

Exit codes: 0 restored or already right, 1 error, 2 usage, 3 --check found work
(or --verify found a stack that will not decrypt), 4 conflict refused,
5 stack not in the backend (0 with --missing-ok), 130 interrupted.`,
		`  # Restore Pulumi.dev.yaml in the current project, as pulumi resolves its backend
  stacksync restore dev

  # First run of a "select or create" workflow: a stack not in the backend yet is a note
  stacksync restore -C infra --backend s3://my-pulumi-state?region=us-west-2 -s dev --missing-ok

  # In CI, fail when any committed settings file differs from state; write nothing
  stacksync restore --all --check -o json`,
		func(cmd *cobra.Command, args []string) int { return runRestore(cmd.Context(), e, &o, args) }, code)
	fs := cmd.Flags()
	o.register(fs, "restore")
	fs.BoolVar(&o.check, "check", false, "write nothing; exit 3 if any settings file is missing or differs from state")
	fs.BoolVar(&o.dryRun, "dry-run", false, "write nothing; print the diff of what would change")
	fs.BoolVar(&o.force, "force", false, "replace values that differ from state")
	fs.BoolVar(&o.missingOK, "missing-ok", false, "a stack not in the backend yet is no error: note it, write nothing, exit 0")
	fs.BoolVar(&o.verify, "verify", false, "then check that pulumi will decrypt: KMS Decrypt of the data key, or the passphrase against the salt; exit 3 if not")
	return cmd
}

// runRestore runs restore with its flags o and positional stacks pos.
func runRestore(ctx context.Context, e *env, o *restoreOptions, pos []string) int {
	run, code := o.start(ctx, e, pos)
	if run == nil {
		return code
	}
	defer run.cancel()
	ctx, w, refs := run.ctx, run.w, run.refs
	output := o.output
	check, dryRun, force, missingOK, verify := o.check, o.dryRun, o.force, o.missingOK, o.verify
	if len(refs) > 1 {
		// One listing of the lock files answers for every stack.
		if err := w.loadLocks(ctx); err != nil {
			return failRun(ctx, e, err)
		}
	}

	var results []restoreResult // for JSON
	verifier := newVerifier(e, w)
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
		if verify {
			r.Verify = verifyRestored(ctx, verifier, r)
		}
		if dryRun && r.Action != "unchanged" && r.Action != "error" && r.Action != "conflict" {
			r.Diff = unifiedDiff(relPath(w.dir, r.File), r.before, r.after)
		}
		done++
		missing := r.Action == "error" && errors.Is(r.err, state.ErrStackNotFound)
		if missing && missingOK {
			// The first run of a "select or create" workflow: the stack
			// is not in the backend yet, and there is nothing to restore.
			r.Action, r.Error, r.err = "missing", "", nil
		}
		switch {
		case missing && !missingOK:
			if code != exitError {
				code = exitMissing
			}
		case r.Action == "error":
			code = exitError
		case r.Action == "conflict" && !check && code != exitError && code != exitMissing:
			code = exitConflict
		case check && r.Action != "unchanged" && code == exitOK:
			code = exitDrift
		}
		if r.Verify != nil && code != exitConflict {
			code = verifyCode(code, *r.Verify)
		}
		// Text goes out stack by stack, so an interrupt leaves the lines
		// of the stacks done on the screen.
		if output != "json" {
			printRestore(e, w, r, check, dryRun)
			printWarnings(e, r, false)
			if r.Verify != nil {
				printVerify(e, *r.Verify, "verify: ")
			}
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
		refs, err := w.backend.ProjectStacks(ctx, w.project.Name)
		if err != nil {
			return nil, err
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

// restoreOne restores one stack's settings file with settings.Restore, or
// with dry set only works out what it would do, and adds the hints that
// name what the user can do.
func restoreOne(ctx context.Context, w *workspace, ref state.StackRef, force, dry bool) restoreResult {
	// Without a backend-wide lock listing, Restore lists the stack's own
	// in the same round trip as its checkpoint.
	sr := settings.Restore(ctx, w.backend, w.project, ref, settings.RestoreOptions{DryRun: dry, Force: force, NoLockCheck: w.locked != nil})
	res := sr.Resolved
	p := res.Provider
	r := restoreResult{
		Stack: ref.Name, Project: ref.Project, File: sr.File, Action: sr.Status.String(), Written: sr.Written,
		Set: sr.Edit.Set, Removed: sr.Edit.Removed, Conflicts: sr.Edit.Conflicts, SecureValues: sr.Edit.SecureValues,
		before: sr.Before, after: sr.After,
	}
	if p.Type != "" {
		r.provider = p
		r.Provider, r.Key, r.SecretsProvider = p.Kind(), p.KeyID(), p.CloudURL()
		r.Source = "checkpoint"
		if res.Source.Kind != "checkpoint" {
			r.Source, r.SourceObject = res.Source.Kind, w.backend.Store.Location(res.Source.Key)
		}
		r.Legacy = res.Stack.Legacy
		r.Locked = res.Locked || w.isLocked(ref)
	}
	if sr.Status == settings.Failed {
		err := sr.Err
		var ee *settings.EditError
		switch {
		case errors.Is(err, state.ErrStackNotFound):
			err = notFoundHint(err)
		case errors.Is(err, state.ErrTooLarge):
			err = hinted{err, "if it is a real checkpoint, raise the limit with " + maxCheckpointEnv + " (e.g. 1GiB)"}
		case errors.Is(err, settings.ErrUnknownProvider):
			err = hinted{err, "fix the checkpoint or set the settings file by hand"}
		case errors.Is(err, state.ErrCorrupt):
			// A damaged meta.yaml is not the checkpoint, and its message
			// says what to do already.
			if _, lerr := w.backend.Layout(ctx); lerr == nil {
				err = hinted{err, "the checkpoint is damaged: repair it, or put back its .bak or a copy from .pulumi/backups"}
			}
		case errors.As(err, &ee):
			err = hinted{err, "fix the file or move it aside"}
		}
		r.Action, r.Error, r.err = "error", err.Error(), err
	}
	return r
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
	case "missing":
		fmt.Fprintf(e.stdout, "%s: not in the backend yet; nothing to restore (--missing-ok)\n", stack)
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

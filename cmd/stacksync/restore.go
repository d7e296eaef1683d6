package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/stacksync/stacksync/pkg/restore"
)

// restoreResult is one stack's outcome; its JSON form is part of the
// command's contract.
type restoreResult struct {
	Stack           string   `json:"stack"`
	Project         string   `json:"project"`
	File            string   `json:"file"`
	Action          string   `json:"action"` // created, updated, unchanged, conflict, missing, error
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
	// missing says the error is a stack not in the backend.
	missing bool
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
	opts := restore.Options{Force: o.force}
	if o.check || o.dryRun {
		opts.Mode = restore.Check
	}
	if o.verify {
		opts.Verifier = newVerifier(e, run.w)
	}
	results := []restoreResult{} // for JSON
	return run.pipe(e, opts, func(sr restore.Result) int {
		r := newRestoreResult(sr, o.missingOK)
		if o.dryRun && (r.Action == "created" || r.Action == "updated") {
			r.Diff = unifiedDiff(relPath(run.w.Dir, r.File), sr.Before, sr.After)
		}
		if o.output == "json" {
			results = append(results, r)
		} else {
			printRestore(e, run.w.Dir, r, o.check, o.dryRun)
			printWarnings(e, r, false)
			if r.Verify != nil {
				printVerify(e, *r.Verify, "verify: ")
			}
		}
		return o.code(r)
	}, func() int {
		if o.output != "json" {
			return exitOK
		}
		if c := encodeJSON(e, results); c != exitOK {
			return c
		}
		for _, r := range results {
			printWarnings(e, r, true)
		}
		return exitOK
	})
}

// code is the exit code of one stack's result: 1 for an error, 5 for a
// stack not in the backend (unless --missing-ok), 4 for a conflict refused,
// 3 under --check for any change (or a conflict) and for a --verify
// finding.
func (o *restoreOptions) code(r restoreResult) int {
	c := exitOK
	switch {
	case r.Action == "error" && r.missing:
		c = exitMissing
	case r.Action == "error":
		c = exitError
	case r.Action == "conflict" && !o.check:
		c = exitConflict
	case o.check && r.Action != "unchanged":
		c = exitDrift
	}
	if r.Verify != nil {
		c = worst(c, r.Verify.code())
	}
	return c
}

// newRestoreResult is the JSON form of one stack's result, with the hints
// that name what the user can do. With missingOK a stack not in the
// backend is a note, not an error.
func newRestoreResult(sr restore.Result, missingOK bool) restoreResult {
	p := sr.Resolved.Provider
	r := restoreResult{
		Stack: sr.Ref.Name, Project: sr.Ref.Project, File: sr.File, Action: sr.Status.String(), Written: sr.Written,
		Set: sr.Edit.Set, Removed: sr.Edit.Removed, Conflicts: sr.Edit.Conflicts, SecureValues: sr.Edit.SecureValues,
	}
	if p.Type != "" {
		r.Provider, r.Key, r.SecretsProvider = p.Kind(), p.KeyID(), p.CloudURL()
		r.Source = "checkpoint"
		if sr.Resolved.Source.Kind != "checkpoint" {
			r.Source, r.SourceObject = sr.Resolved.Source.Kind, sr.SourceObject
		}
		r.Legacy = sr.Resolved.Stack.Legacy
		r.Locked = sr.Locked
	}
	switch {
	case sr.Status == restore.Missing && missingOK:
		// The first run of a "select or create" workflow: the stack is
		// not in the backend yet, and there is nothing to restore.
	case sr.Status == restore.Missing || sr.Status == restore.Failed:
		err := stackHint(sr)
		r.Action, r.Error, r.missing = "error", err.Error(), sr.Status == restore.Missing
	}
	if sr.Verify != nil {
		v := newVerifyResult(sr).with(p, *sr.Verify, sr.Status)
		r.Verify = &v
	}
	return r
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

func printRestore(e *env, dir string, r restoreResult, check, dryRun bool) {
	file := safe(relPath(dir, r.File))
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

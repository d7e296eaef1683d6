package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/stacksync/stacksync/pkg/secrets"
	"github.com/stacksync/stacksync/pkg/state"
	"github.com/stacksync/stacksync/pkg/state/s3store"
)

// verifyResult is one stack's verdict; its JSON form is part of the
// command's contract: status is ok, fail, not-verified or error, reason
// one of pkg/secrets' Reasons (or stack-not-found, no-provider,
// state-unreadable, settings-unreadable for what fails before the check).
type verifyResult struct {
	Stack        string     `json:"stack"`
	Project      string     `json:"project"`
	File         string     `json:"file"`
	Provider     string     `json:"provider,omitempty"`
	Key          string     `json:"key,omitempty"`
	Status       string     `json:"status"`
	Reason       string     `json:"reason"`
	Message      string     `json:"message"`
	Principal    string     `json:"principal,omitempty"`
	KeyARN       string     `json:"key_arn,omitempty"`
	KeyState     string     `json:"key_state,omitempty"`
	DeletionDate *time.Time `json:"deletion_date,omitempty"`
	Warning      string     `json:"warning,omitempty"`
}

func newVerifyCmd(e *env, code *int) *cobra.Command {
	var o stackFlags
	cmd := newCommand("verify [STACK]...",
		"Check that pulumi will decrypt each stack's secrets",
		`Verify checks, for each stack, what pulumi up would meet after a restore: that
the settings file agrees with the checkpoint, and that pulumi will decrypt: one
KMS Decrypt of the data key (awskms), sent as pulumi sends it, or the passphrase
(PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE) against the salt.
On a failure it names the cause: a disabled key, a key pending deletion, the
wrong region, a denied principal, a wrong passphrase. Nothing is printed of the
plaintext, the passphrase or the derived key.

Exit codes: 0 every stack will decrypt (or is not verifiable here), 1 error,
2 usage, 3 a stack will not decrypt, 130 interrupted.`,
		`  # Before pulumi up: will the settings file of dev decrypt with this role?
  stacksync verify dev

  # Every stack of the project in ./infra, as JSON
  stacksync verify -C infra --all -o json

  # A passphrase stack, with the passphrase from a file
  PULUMI_CONFIG_PASSPHRASE_FILE=.passphrase stacksync verify -s staging`,
		func(cmd *cobra.Command, args []string) int { return runVerify(cmd.Context(), e, &o, args) }, code)
	o.register(cmd.Flags(), "verify")
	return cmd
}

// runVerify runs verify with its flags o and positional stacks pos.
func runVerify(ctx context.Context, e *env, o *stackFlags, pos []string) int {
	run, code := o.start(ctx, e, pos)
	if run == nil {
		return code
	}
	defer run.cancel()
	ctx, w, refs := run.ctx, run.w, run.refs
	output := o.output
	v := newVerifier(e, w)
	results := []verifyResult{}
	done, code := 0, exitOK
	for _, ref := range refs {
		if ctx.Err() != nil {
			break
		}
		r := verifyStack(ctx, w, v, ref)
		if r.Status == "error" && ctx.Err() != nil {
			break
		}
		done++
		code = verifyCode(code, r)
		if output == "json" {
			results = append(results, r)
			continue
		}
		printVerify(e, r, "")
	}
	if output == "json" {
		if c := encodeJSON(e, results); c != exitOK {
			return c
		}
	}
	if done < len(refs) {
		if c, ok := stopped(ctx, e, done, len(refs)); ok {
			return c
		}
	}
	return code
}

// newVerifier returns the verifier of a command run in w: passphrase
// variables from e, a relative PULUMI_CONFIG_PASSPHRASE_FILE from the
// workspace directory, and the S3 store's deadlines and CA bundle for KMS.
func newVerifier(e *env, w *workspace) *secrets.Verifier {
	lookup := e.lookupEnv
	if lookup == nil {
		lookup = func(k string) (string, bool) { v := e.getenv(k); return v, v != "" }
	}
	return &secrets.Verifier{
		LookupEnv: lookup,
		Dir:       w.dir,
		AWS:       secrets.AWSOptions{HTTPClient: s3store.Options{CABundle: e.caBundle}.HTTPClient()},
	}
}

// verifyStack reads ref's provider from the backend and its settings file
// from disk, and verifies them.
func verifyStack(ctx context.Context, w *workspace, v *secrets.Verifier, ref state.StackRef) verifyResult {
	r := verifyResult{Stack: ref.Name, Project: ref.Project}
	path, err := w.project.SettingsPath(ref.Name)
	if err != nil {
		return r.failed("settings-unreadable", err)
	}
	r.File = path
	res, err := w.backend.Provider(ctx, ref, state.LookupOptions{Fallback: true})
	switch {
	case errors.Is(err, state.ErrStackNotFound):
		return r.failed("stack-not-found", notFoundHint(w.backend.StackNotFound(ctx, ref, err)))
	case errors.Is(err, state.ErrNoProvider):
		return r.failed("no-provider", err)
	case err != nil:
		return r.failed("state-unreadable", err)
	}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return r.failed("settings-unreadable", err)
	}
	return r.with(res.Provider, v.Verify(ctx, secrets.Stack{Provider: res.Provider, SettingsPath: path, Settings: data}))
}

// verifyRestored verifies a stack restore just handled, from the provider
// it read and the settings file as restore left it (or, under --check or
// --dry-run, as restore would leave it): no other read of the backend.
func verifyRestored(ctx context.Context, v *secrets.Verifier, r restoreResult) *verifyResult {
	out := verifyResult{Stack: r.Stack, Project: r.Project, File: r.File}
	if r.Action == "error" {
		return nil
	}
	data := r.after
	if data == nil {
		var err error
		if data, err = os.ReadFile(r.File); err != nil && !errors.Is(err, fs.ErrNotExist) {
			out = out.failed("settings-unreadable", err)
			return &out
		}
	}
	out = out.with(r.provider, v.Verify(ctx, secrets.Stack{Provider: r.provider, SettingsPath: r.File, Settings: data}))
	return &out
}

// with fills r from the provider and the verdict.
func (r verifyResult) with(p state.SecretsProvider, v secrets.Result) verifyResult {
	r.Provider, r.Key = p.Kind(), p.KeyID()
	r.Status, r.Reason, r.Message = v.Status.String(), string(v.Reason), v.Message
	r.Principal, r.KeyARN, r.KeyState, r.Warning = v.Principal, v.KeyARN, v.KeyState, v.Warning
	if !v.DeletionDate.IsZero() {
		d := v.DeletionDate.UTC()
		r.DeletionDate = &d
	}
	return r
}

// failed is r with status error for reason and err.
func (r verifyResult) failed(reason string, err error) verifyResult {
	r.Status, r.Reason, r.Message = "error", reason, err.Error()
	return r
}

// verifyCode folds one verdict into the exit code: an error (1) outranks a
// finding (3), which outranks success.
func verifyCode(code int, r verifyResult) int {
	switch {
	case r.Status == "error":
		return exitError
	case r.Status == "fail" && code == exitOK:
		return exitDrift
	}
	return code
}

// printVerify prints one verdict line: on stdout, or for an error on
// stderr. prefix goes before the status ("verify: " after a restore).
func printVerify(e *env, r verifyResult, prefix string) {
	if r.Status == "error" {
		fmt.Fprintf(e.stderr, "stacksync: %s: %s%s (%s): %s\n", safe(r.Stack), prefix, r.Status, safe(r.Reason), safe(r.Message))
		return
	}
	fmt.Fprintf(e.stdout, "%s: %s%s (%s): %s\n", safe(r.Stack), prefix, r.Status, safe(r.Reason), safe(r.Message))
	if r.Warning != "" {
		fmt.Fprintf(e.stderr, "stacksync: warning: stack %s: %s\n", safe(r.Stack), safe(r.Warning))
	}
}

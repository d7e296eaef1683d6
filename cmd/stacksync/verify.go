package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/stacksync/stacksync/pkg/restore"
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
	results := []verifyResult{} // for JSON
	opts := restore.Options{Mode: restore.Verify, Verifier: newVerifier(e, run.w)}
	return run.pipe(e, opts, func(sr restore.Result) int {
		r := newVerifyResult(sr)
		if sr.Verify != nil {
			r = r.with(sr.Resolved.Provider, *sr.Verify, sr.Status)
		}
		if o.output == "json" {
			results = append(results, r)
		} else {
			printVerify(e, r, "")
		}
		return r.code()
	}, func() int {
		if o.output != "json" {
			return exitOK
		}
		return encodeJSON(e, results)
	})
}

// newVerifier returns the verifier of a command run in w: passphrase
// variables from e, a relative PULUMI_CONFIG_PASSPHRASE_FILE from the
// workspace directory, and the S3 store's deadlines and CA bundle for KMS.
func newVerifier(e *env, w *restore.Workspace) *secrets.Verifier {
	lookup := e.lookupEnv
	if lookup == nil {
		lookup = func(k string) (string, bool) { v := e.getenv(k); return v, v != "" }
	}
	return &secrets.Verifier{
		LookupEnv: lookup,
		Dir:       w.Dir,
		AWS:       secrets.AWSOptions{HTTPClient: s3store.Options{CABundle: e.caBundle}.HTTPClient()},
	}
}

// newVerifyResult is the verdict form of one stack's result before its
// verdict: the stack, and for a stack that failed before it could be
// verified, the reason: stack-not-found, no-provider, settings-unreadable
// or state-unreadable.
func newVerifyResult(sr restore.Result) verifyResult {
	r := verifyResult{Stack: sr.Ref.Name, Project: sr.Ref.Project, File: sr.File}
	switch err := sr.Err; {
	case sr.Verify != nil || err == nil:
	case sr.Status == restore.Missing:
		r = r.failed("stack-not-found", hint(err))
	case errors.Is(err, state.ErrNoProvider):
		r = r.failed("no-provider", err)
	case errors.Is(err, restore.ErrSettingsIO), errors.Is(err, state.ErrInvalidName):
		r = r.failed("settings-unreadable", err)
	default:
		r = r.failed("state-unreadable", err)
	}
	return r
}

// with fills r from the provider and the verdict; status is what a
// restore would do to the settings file, which says the command that
// fixes a mismatch.
func (r verifyResult) with(p state.SecretsProvider, v secrets.Result, status restore.Status) verifyResult {
	r.Provider, r.Key = p.Kind(), p.KeyID()
	r.Status, r.Reason, r.Message = v.Status.String(), string(v.Reason), v.Message
	switch {
	case v.Reason == secrets.ReasonSettingsMissing:
		r.Message += ": run stacksync restore first"
	case v.Reason == secrets.ReasonSettingsMismatch && status == restore.Conflict:
		r.Message += ": run stacksync restore --force"
	case v.Reason == secrets.ReasonSettingsMismatch:
		r.Message += ": run stacksync restore"
	}
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

// code is the exit code of one verdict: 1 for an error, 3 for a finding.
func (r verifyResult) code() int {
	switch r.Status {
	case "error":
		return exitError
	case "fail":
		return exitDrift
	}
	return exitOK
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

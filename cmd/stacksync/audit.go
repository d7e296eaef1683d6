package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/stacksync/stacksync/pkg/secrets"
	"github.com/stacksync/stacksync/pkg/state"
	"github.com/stacksync/stacksync/pkg/state/s3store"
)

// auditOptions are audit's flags.
type auditOptions struct {
	projects           []string
	backendURL, output string
	failOn             string
	history            historyFlag
	keys               bool
	jobs               int
	timeout            *time.Duration
}

func newAuditCmd(e *env, code *int) *cobra.Command {
	var o auditOptions
	cmd := newCommand("audit",
		"Report the secrets provider of every stack of a backend",
		`Audit lists every live stack of every project of a backend (project and legacy
layouts) and reads each checkpoint whole, `+strconv.Itoa(state.DefaultAuditJobs)+` at a time (-j), to report
which secrets provider, key and data key each stack uses, its locks, and, with
--history, whether an earlier checkpoint recorded another provider: the trace a
lost settings file "fixed" with a passphrase leaves. The report is printed once
the audit is complete, as a table, JSON or CSV.

Exit codes: 0 clean, 1 a stack could not be read or the backend could not be
listed or holds no stack, 2 usage, 3 a stack's provider (or key state) is in
--fail-on, 130 interrupted (no report is printed).`,
		`  # Which provider does each stack of the bucket use?
  stacksync audit --backend s3://my-pulumi-state

  # A CI policy gate: fail when a stack is protected only by a passphrase, or by
  # nothing, or was silently switched away from KMS
  stacksync audit --backend s3://my-pulumi-state --history --fail-on passphrase,none

  # Every stack of project web with its KMS key's state, as CSV
  stacksync audit --project web --keys -o csv > stacks.csv`,
		func(cmd *cobra.Command, args []string) int { return runAudit(cmd.Context(), e, &o, args) }, code)
	fs := cmd.Flags()
	addBackend(fs, &o.backendURL, backendUsage)
	addProjects(fs, &o.projects, "audit only project `P` (repeatable)")
	addOutput(fs, &o.output, "table", "table, json or csv")
	fs.StringVar(&o.failOn, "fail-on", "", "exit 3 if any stack's provider is in this comma-separated `LIST` (e.g. passphrase,none)")
	fs.Var(&o.history, "history", "also read backups and history, and report stacks whose provider changed: a bounded search of a few\n"+
		"reads per stack; --history=all reads every earlier checkpoint until one differs")
	fs.Lookup("history").NoOptDefVal = "true"
	fs.IntVarP(&o.jobs, "jobs", "j", state.DefaultAuditJobs, "read `N` stacks at once")
	fs.BoolVar(&o.keys, "keys", false, "also describe each distinct KMS key (one DescribeKey each): key_state and deletion_date")
	o.timeout = addTimeout(fs)
	return cmd
}

// runAudit runs audit with its flags o and positional arguments pos,
// which it refuses.
func runAudit(ctx context.Context, e *env, o *auditOptions, pos []string) int {
	projects, backendURL, output, history, keys, jobs, timeout := o.projects, o.backendURL, o.output, o.history, o.keys, o.jobs, o.timeout
	failOn, keyFailOn := splitKeyFailOn(o.failOn)
	failOnSet, err := parseFailOn(failOn)
	if err == nil && len(pos) > 0 {
		err = usageError{msg: fmt.Sprintf("unexpected argument %q; audit takes only flags", short(pos[0]))}
	}
	if err == nil {
		err = checkOutput(output, "table", "json", "csv")
	}
	if err == nil && jobs < 1 {
		err = usageError{msg: "-j must be at least 1"}
	}
	if err == nil {
		err = checkTimeout(*timeout)
	}
	if err != nil {
		return fail(e, err)
	}
	ctx, cancel := withTimeout(ctx, *timeout)
	defer cancel()
	w, err := openWorkspace(ctx, e, "", backendURL, false)
	if err != nil {
		return failRun(ctx, e, err)
	}
	prog := newProgress(e)
	var done, total atomic.Int64
	total.Store(-1)
	count := func(d, t int) {
		// Workers report out of order; keep the highest count.
		for {
			old := done.Load()
			if int64(d) <= old || done.CompareAndSwap(old, int64(d)) {
				break
			}
		}
		total.Store(int64(t))
		prog.update(d, t)
	}
	withKeys := keys || len(keyFailOn) > 0
	rep := newAuditReport(output, history.mode != state.HistoryOff, withKeys)
	defer rep.close()
	var keyAuditor *secrets.KeyAuditor
	if withKeys {
		// One DescribeKey per distinct key, asked when its first stack
		// comes; the stacks after it use the answer.
		keyAuditor = secrets.NewKeyAuditor(secrets.AWSOptions{HTTPClient: s3store.Options{CABundle: e.caBundle}.HTTPClient()})
	}
	opts := state.AuditOptions{Projects: projects, Jobs: jobs, History: history.mode, Progress: count}
	err = w.Backend.Audit(ctx, opts, func(a state.StackAudit) error {
		r := newStackReport(a)
		if keyAuditor != nil {
			annotateKey(ctx, keyAuditor, &r)
		}
		return rep.add(r)
	})
	prog.finish()
	if err != nil {
		// A stopped audit prints no report: a partial one could pass a
		// policy gate that the full one fails. The report is spooled
		// until the audit is complete.
		if c, ok := stopped(ctx, e, int(done.Load()), int(total.Load())); ok {
			return c
		}
		errorLine(e, fmt.Errorf("auditing %s: %w", w.Backend.URL.Raw, err))
		return exitError
	}
	if err := rep.writeTo(e.stdout); err != nil {
		errorLine(e, err)
		return exitError
	}
	s := rep.summary
	if s.Stacks == 0 {
		// A policy gate must not pass because it looked in the wrong place.
		where := "backend " + w.Backend.URL.Raw
		if len(projects) > 0 {
			where += " for project " + strings.Join(projects, ", ")
		}
		errorLine(e, fmt.Errorf("no stacks found in %s; check the backend URL and --project", where))
		return exitError
	}
	if s.Errors > 0 {
		return exitError
	}
	for p := range failOnSet {
		if s.Providers[p] > 0 {
			return exitDrift
		}
	}
	for st := range keyFailOn {
		if rep.keyStates[st] > 0 {
			return exitDrift
		}
	}
	return exitOK
}

// historyFlag is --history: a boolean flag that also takes "all".
type historyFlag struct{ mode state.HistoryMode }

func (h *historyFlag) String() string {
	switch h.mode {
	case state.HistoryBounded:
		return "true"
	case state.HistoryAll:
		return "all"
	}
	return "false"
}

func (h *historyFlag) Set(v string) error {
	if v == "all" {
		h.mode = state.HistoryAll
		return nil
	}
	on, err := strconv.ParseBool(v)
	if err != nil {
		return errors.New("want --history or --history=all")
	}
	h.mode = state.HistoryOff
	if on {
		h.mode = state.HistoryBounded
	}
	return nil
}

// Type is "bool", so that help shows --history without a value: a bare
// --history is --history=true (NoOptDefVal).
func (h *historyFlag) Type() string { return "bool" }

// parseFailOn parses the --fail-on list, accepting only provider classes.
func parseFailOn(s string) (map[string]bool, error) {
	set := map[string]bool{}
	if s == "" {
		return set, nil
	}
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		ok := false
		for _, c := range providerClasses {
			ok = ok || c == p
		}
		if !ok {
			return nil, usageError{msg: fmt.Sprintf("--fail-on: unknown provider %q; use %s", p, strings.Join(providerClasses, ", "))}
		}
		set[p] = true
	}
	return set, nil
}

package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

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
layouts) and reads only the head of each checkpoint, 16 at a time, to report
which secrets provider, key and data key each stack uses, its locks, and, with
--history, whether an earlier checkpoint recorded another provider: the trace a
lost settings file "fixed" with a passphrase leaves. The report is printed once
the audit is complete, as a table, JSON or CSV.

Exit codes: 0 clean, 1 a stack could not be read or the backend could not be
listed, 2 usage, 3 a stack's provider (or key state) is in --fail-on,
130 interrupted (no report is printed).`,
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
	rep := newAuditReport(output, history.mode != state.HistoryOff)
	defer rep.close()
	if keys || len(keyFailOn) > 0 {
		// One DescribeKey per distinct key, asked when its first stack
		// comes; the stacks after it use the answer.
		rep.keys = secrets.NewKeyAuditor(secrets.AWSOptions{HTTPClient: s3store.Options{CABundle: e.caBundle}.HTTPClient()})
		rep.keyStates = map[string]int{}
		rep.keysCtx = ctx
		rep.columns = auditColumns(true)
	}
	err = w.Backend.AuditEach(ctx, state.AuditOptions{Projects: projects, Jobs: jobs, History: history.mode, Progress: count}, rep.add)
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
		for _, c := range state.ProviderClasses {
			ok = ok || c == p
		}
		if !ok {
			return nil, usageError{msg: fmt.Sprintf("--fail-on: unknown provider %q; use %s", p, strings.Join(state.ProviderClasses, ", "))}
		}
		set[p] = true
	}
	return set, nil
}

type auditSummary struct {
	Stacks    int            `json:"stacks"`
	Providers map[string]int `json:"providers"`
	Flipped   int            `json:"flipped"`
	Locked    int            `json:"locked"`
	Errors    int            `json:"errors"`
}

// count adds r to the summary.
func (s *auditSummary) count(r state.StackReport) {
	s.Stacks++
	s.Providers[r.Provider]++
	if r.Flipped {
		s.Flipped++
	}
	if r.Locked {
		s.Locked++
	}
	if r.Error != "" {
		s.Errors++
	}
}

// auditReport writes an audit's output from reports that come one at a
// time, in project and stack order, holding none of them: each is encoded
// as it comes into a spool (memory, then a temporary file), and the
// output is written once the audit is complete, so a stopped audit prints
// nothing. With history, flipped stacks go first: they are spooled apart.
// A table's column widths are kept as rows come, so the rows can be
// padded when written.
type auditReport struct {
	format  string
	history bool
	summary auditSummary
	// flipped and others hold the encoded stacks, flipped first.
	flipped, others spool
	nFlipped        int
	nOthers         int
	widths          []int // of the table's columns

	// keys, with --keys, annotates each awskms stack with its key's
	// state; keyStates counts the stacks per state, keyRows the stacks
	// per key, for the table's key section.
	keys      *secrets.KeyAuditor
	keysCtx   context.Context
	keyStates map[string]int
	keyRows   []state.StackReport
	// columns are the CSV's.
	columns csvColumns
}

func newAuditReport(format string, history bool) *auditReport {
	a := &auditReport{format: format, history: history, summary: auditSummary{Providers: map[string]int{}}, columns: auditColumns(false)}
	for _, c := range state.ProviderClasses {
		a.summary.Providers[c] = 0
	}
	if format == "table" {
		a.widen(auditTableHead(history))
	}
	return a
}

// add encodes r into its spool; AuditEach calls it.
func (a *auditReport) add(r state.StackReport) error {
	if a.keys != nil {
		a.keys.Annotate(a.keysCtx, &r)
		if r.KeyState != "" {
			a.keyStates[r.KeyState]++
			a.keyRows = appendKeyRow(a.keyRows, r)
		}
	}
	a.summary.count(r)
	sp, n := &a.others, &a.nOthers
	if a.history && r.Flipped {
		sp, n = &a.flipped, &a.nFlipped
	}
	*n++
	switch a.format {
	case "json":
		data, err := json.MarshalIndent(r, "    ", "  ")
		if err != nil {
			return err
		}
		if *n > 1 {
			sp.WriteString(",\n")
		}
		sp.WriteString("    ")
		sp.Write(data)
	case "csv":
		cw := csv.NewWriter(sp)
		if err := cw.Write(safeAll(csvRow(r, a.columns))); err != nil {
			return err
		}
		cw.Flush()
	default:
		cells := auditTableRow(r, a.history)
		a.widen(cells)
		sp.WriteString(strings.Join(cells, "\t"))
		sp.WriteString("\n")
	}
	return sp.Err()
}

// writeTo writes the whole output to w.
func (a *auditReport) writeTo(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	switch a.format {
	case "json":
		err = a.writeJSON(bw)
	case "csv":
		err = a.writeCSV(bw)
	default:
		err = a.writeTable(bw)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

// writeJSON writes {"stacks": [...], "summary": {...}} byte for byte as
// json.Encoder with a two-space indent writes it.
func (a *auditReport) writeJSON(w *bufio.Writer) error {
	w.WriteString("{\n  \"stacks\": [")
	if a.nFlipped+a.nOthers > 0 {
		w.WriteString("\n")
		if err := a.flipped.copyTo(w); err != nil {
			return err
		}
		if a.nFlipped > 0 && a.nOthers > 0 {
			w.WriteString(",\n")
		}
		if err := a.others.copyTo(w); err != nil {
			return err
		}
		w.WriteString("\n  ")
	}
	w.WriteString("],\n  \"summary\": ")
	data, err := json.MarshalIndent(a.summary, "  ", "  ")
	if err != nil {
		return err
	}
	w.Write(data)
	_, err = w.WriteString("\n}\n")
	return err
}

func (a *auditReport) writeCSV(w *bufio.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(a.columns.names()); err != nil {
		return err
	}
	cw.Flush()
	if err := a.flipped.copyTo(w); err != nil {
		return err
	}
	return a.others.copyTo(w)
}

// writeTable writes the table as text/tabwriter would (cells padded to the
// widest of their column plus two spaces, in runes; the last cell as it
// is), then the summary line.
func (a *auditReport) writeTable(w *bufio.Writer) error {
	pad := func(line string) {
		cells := strings.Split(line, "\t")
		for i, c := range cells {
			w.WriteString(c)
			if i < len(cells)-1 {
				w.WriteString(strings.Repeat(" ", a.widths[i]+2-utf8.RuneCountInString(c)))
			}
		}
		w.WriteString("\n")
	}
	pad(strings.Join(auditTableHead(a.history), "\t"))
	for _, sp := range []*spool{&a.flipped, &a.others} {
		if err := sp.eachLine(pad); err != nil {
			return err
		}
	}
	if _, err := w.WriteString(a.summaryLine() + "\n"); err != nil {
		return err
	}
	if a.keys != nil {
		return writeKeyTable(w, a.keyRows)
	}
	return nil
}

// widen grows the table's column widths to fit cells.
func (a *auditReport) widen(cells []string) {
	for len(a.widths) < len(cells) {
		a.widths = append(a.widths, 0)
	}
	for i, c := range cells {
		a.widths[i] = max(a.widths[i], utf8.RuneCountInString(c))
	}
}

func auditTableHead(history bool) []string {
	head := []string{"PROJECT", "STACK", "PROVIDER", "KEY", "REGION", "DATA KEY", "COMPRESSION", "VERSION", "LOCKED"}
	if history {
		head = append(head, "FLIPPED FROM")
	}
	return append(head, "ERROR")
}

// auditTableRow returns the table's cells for r, each fit to print.
func auditTableRow(r state.StackReport, history bool) []string {
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	key := r.Key
	if key == "" && r.Provider != "awskms" {
		key = r.SecretsProvider
	}
	project := r.Project
	if r.Legacy {
		project = "(legacy)"
	}
	locked := "-"
	if r.Locked {
		locked = "locked"
	}
	version := "-"
	if r.Error == "" {
		version = strconv.Itoa(r.CheckpointVersion)
	}
	cells := []string{project, r.Stack, r.Provider, dash(key), dash(r.Region), dash(r.EncryptedKeySHA),
		dash(r.Compression), version, locked}
	if history {
		from := "-"
		if r.Flipped {
			from = r.PreviousProvider
			if r.PreviousSecretsProvider != "" {
				from += " " + r.PreviousSecretsProvider
			}
		}
		cells = append(cells, from)
	}
	return safeAll(append(cells, dash(r.Error)))
}

// summaryLine is the table's last line.
func (a *auditReport) summaryLine() string {
	s := a.summary
	var parts []string
	for _, c := range state.ProviderClasses {
		if n := s.Providers[c]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", c, n))
		}
	}
	line := fmt.Sprintf("%d stacks", s.Stacks)
	if s.Stacks == 1 {
		line = "1 stack"
	}
	if len(parts) > 0 {
		line += ": " + strings.Join(parts, ", ")
	}
	if a.history {
		line += fmt.Sprintf("; %d flipped", s.Flipped)
	}
	if s.Locked > 0 {
		line += fmt.Sprintf("; %d locked", s.Locked)
	}
	if s.Errors > 0 {
		line += fmt.Sprintf("; %d unreadable", s.Errors)
	}
	return line
}

func (a *auditReport) close() {
	a.flipped.close()
	a.others.close()
}

// progress reports an audit's progress on stderr when stderr is a terminal,
// NO_COLOR is unset, and there are more than 50 stacks.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	enabled bool
	start   time.Time
	last    time.Time
	shown   bool
}

// newProgress enables progress when stderr is a character device, which a
// terminal is (so is /dev/null, where the output is harmlessly lost; telling
// them apart needs an ioctl per platform, not worth a dependency).
func newProgress(e *env) *progress {
	p := &progress{w: e.stderr, start: time.Now()}
	if f, ok := e.stderr.(*os.File); ok && e.getenv("NO_COLOR") == "" {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.enabled = true
		}
	}
	return p
}

func (p *progress) update(done, total int) {
	if !p.enabled || total <= 50 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && done < total {
		return
	}
	p.last, p.shown = now, true
	rate := float64(done) / now.Sub(p.start).Seconds()
	fmt.Fprintf(p.w, "\r%d/%d stacks, %.0f stacks/s ", done, total, rate)
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/stacksync/stacksync/pkg/state"
)

// auditFields are the CSV columns, in order; the same names as the JSON.
var auditFields = []string{"project", "stack", "provider", "secretsprovider", "key", "region", "encryptedkey_sha256",
	"object", "size", "last_modified", "compression", "checkpoint_version", "locked", "legacy",
	"flipped", "previous_provider", "previous_secretsprovider", "error"}

func auditCmd(ctx context.Context, args []string, e *env) int {
	fs := newFlagSet("audit", e)
	var projects stringList
	var backendURL, output, failOn string
	var history, keys bool
	jobs := 16
	fs.StringVar(&backendURL, "backend", "", "backend `URL` (default: PULUMI_BACKEND_URL, Pulumi.yaml backend.url, pulumi login)")
	fs.Var(&projects, "project", "audit only this project (repeatable)")
	fs.StringVar(&output, "output", "table", "output format: table, json or csv")
	fs.StringVar(&output, "o", "table", "shorthand for --output")
	fs.StringVar(&failOn, "fail-on", "", "exit 3 if any stack's provider is in this comma-separated `LIST` (e.g. passphrase,none)")
	fs.BoolVar(&history, "history", false, "also read backups and history, and report stacks whose provider changed")
	fs.IntVar(&jobs, "j", 16, "read `N` stacks at once")
	fs.BoolVar(&keys, "keys", false, "also describe each distinct KMS key (one DescribeKey each): key_state and deletion_date")
	timeout := addTimeout(fs)
	pos, err := parseArgs(fs, args)
	var failOnSet map[string]bool
	failOn, keyFailOn := splitKeyFailOn(failOn)
	if err == nil {
		failOnSet, err = parseFailOn(failOn)
	}
	switch {
	case err != nil:
	case len(pos) > 0:
		err = usageError{msg: fmt.Sprintf("unexpected argument %q; audit takes only flags", short(pos[0]))}
	case output != "table" && output != "json" && output != "csv":
		err = usageError{msg: fmt.Sprintf("--output %q: want table, json or csv", short(output))}
	case jobs < 1:
		err = usageError{msg: "-j must be at least 1"}
	default:
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
	reports, err := w.backend.Audit(ctx, state.AuditOptions{Projects: projects, Jobs: jobs, History: history, Progress: count})
	prog.finish()
	if err != nil {
		// A stopped audit prints no report: a partial one could pass a
		// policy gate that the full one fails.
		if c, ok := stopped(ctx, e, int(done.Load()), int(total.Load())); ok {
			return c
		}
		errorLine(e, fmt.Errorf("auditing %s: %w", w.backend.URL.Raw, err))
		return exitError
	}
	if keys || len(keyFailOn) > 0 {
		annotateKeys(ctx, e, reports, jobs)
	}
	if history {
		// Flipped stacks first: they are the ones to act on.
		sort.SliceStable(reports, func(i, j int) bool { return reports[i].Flipped && !reports[j].Flipped })
	}
	switch output {
	case "json":
		err = writeAuditJSON(e.stdout, reports)
	case "csv":
		err = writeAuditCSV(e.stdout, reports, keys)
	default:
		err = writeAuditTable(e.stdout, reports, history)
		if err == nil && keys {
			err = writeKeyTable(e.stdout, reports)
		}
	}
	if err != nil {
		errorLine(e, err)
		return exitError
	}
	if len(reports) == 0 {
		// A policy gate must not pass because it looked in the wrong place.
		where := "backend " + w.backend.URL.Raw
		if len(projects) > 0 {
			where += " for project " + strings.Join(projects, ", ")
		}
		errorLine(e, fmt.Errorf("no stacks found in %s; check the backend URL and --project", where))
		return exitError
	}
	code := exitOK
	for _, r := range reports {
		if r.Error != "" {
			code = exitError
		}
	}
	for _, r := range reports {
		if (failOnSet[r.Provider] || keyFailOn[r.KeyState]) && code == exitOK {
			code = exitDrift
		}
	}
	return code
}

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

func summarize(reports []state.StackReport) auditSummary {
	s := auditSummary{Stacks: len(reports), Providers: map[string]int{}}
	for _, c := range state.ProviderClasses {
		s.Providers[c] = 0
	}
	for _, r := range reports {
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
	return s
}

func writeAuditJSON(w io.Writer, reports []state.StackReport) error {
	if reports == nil {
		reports = []state.StackReport{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Stacks  []state.StackReport `json:"stacks"`
		Summary auditSummary        `json:"summary"`
	}{reports, summarize(reports)})
}

func auditRow(r state.StackReport) []string {
	return []string{r.Project, r.Stack, r.Provider, r.SecretsProvider, r.Key, r.Region, r.EncryptedKeySHA,
		r.Object, strconv.FormatInt(r.Size, 10), r.LastModified.UTC().Format(time.RFC3339), r.Compression,
		strconv.Itoa(r.CheckpointVersion), strconv.FormatBool(r.Locked), strconv.FormatBool(r.Legacy),
		strconv.FormatBool(r.Flipped), r.PreviousProvider, r.PreviousSecretsProvider, r.Error}
}

func writeAuditCSV(w io.Writer, reports []state.StackReport, keys bool) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(withKeyColumns(auditFields, keys, nil)); err != nil {
		return err
	}
	for _, r := range reports {
		if err := cw.Write(safeAll(withKeyColumns(auditRow(r), keys, &r))); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func writeAuditTable(w io.Writer, reports []state.StackReport, history bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "PROJECT\tSTACK\tPROVIDER\tKEY\tREGION\tDATA KEY\tCOMPRESSION\tVERSION\tLOCKED"
	if history {
		head += "\tFLIPPED FROM"
	}
	fmt.Fprintln(tw, head+"\tERROR")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, r := range reports {
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
		line := strings.Join(safeAll([]string{project, r.Stack, r.Provider, dash(key), dash(r.Region), dash(r.EncryptedKeySHA),
			dash(r.Compression), version, locked}), "\t")
		if history {
			from := "-"
			if r.Flipped {
				from = r.PreviousProvider
				if r.PreviousSecretsProvider != "" {
					from += " " + r.PreviousSecretsProvider
				}
			}
			line += "\t" + safe(from)
		}
		fmt.Fprintln(tw, line+"\t"+safe(dash(r.Error)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := summarize(reports)
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
	if history {
		line += fmt.Sprintf("; %d flipped", s.Flipped)
	}
	if s.Locked > 0 {
		line += fmt.Sprintf("; %d locked", s.Locked)
	}
	if s.Errors > 0 {
		line += fmt.Sprintf("; %d unreadable", s.Errors)
	}
	_, err := fmt.Fprintln(w, line)
	return err
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

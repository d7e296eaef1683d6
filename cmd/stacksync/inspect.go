package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/stacksync/stacksync/pkg/settings"
	"github.com/stacksync/stacksync/pkg/state"
)

// lsCmd lists stacks from object listings alone: no checkpoint is read.
func lsCmd(ctx context.Context, args []string, e *env) int {
	fs := newFlagSet("ls", e)
	var projects stringList
	var backendURL, output string
	fs.StringVar(&backendURL, "backend", "", "backend `URL`")
	fs.Var(&projects, "project", "list only this project (repeatable)")
	fs.StringVar(&output, "output", "text", "output format: text or json")
	fs.StringVar(&output, "o", "text", "shorthand for --output")
	timeout := addTimeout(fs)
	pos, err := parseArgs(fs, args)
	switch {
	case err != nil:
	case len(pos) > 0:
		err = usageError{msg: fmt.Sprintf("unexpected argument %q; ls takes only flags", short(pos[0]))}
	case output != "text" && output != "json":
		err = usageError{msg: fmt.Sprintf("--output %q: want text or json", short(output))}
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
	l, err := w.backend.ListStacks(ctx, projects...)
	if err != nil {
		return failRun(ctx, e, fmt.Errorf("listing %s: %w", w.backend.URL.Raw, err))
	}
	names := make([]string, 0, len(l.Stacks))
	for _, s := range l.Stacks {
		names = append(names, s.Ref.String())
	}
	if output == "json" {
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
			out = append(out, entry{s.Ref.Project, s.Ref.Name, w.backend.Store.Location(s.Key), s.Size, s.ModTime, s.Legacy})
		}
		return encodeJSON(e, out)
	}
	for _, n := range names {
		fmt.Fprintln(e.stdout, safe(n))
	}
	return exitOK
}

// showCmd shows one stack in full.
func showCmd(ctx context.Context, args []string, e *env) int {
	fs := newFlagSet("show", e)
	var backendURL, output string
	var dir dirFlag
	fs.StringVar(&backendURL, "backend", "", "backend `URL`")
	fs.Var(&dir, "cwd", "run as if in `DIR`")
	fs.Var(&dir, "C", "shorthand for --cwd")
	fs.StringVar(&output, "output", "text", "output format: text or json")
	fs.StringVar(&output, "o", "text", "shorthand for --output")
	timeout := addTimeout(fs)
	pos, err := parseArgs(fs, args)
	switch {
	case err != nil:
	case len(pos) != 1:
		err = usageError{msg: "show takes one stack: stacksync show [project/]STACK"}
	case output != "text" && output != "json":
		err = usageError{msg: fmt.Sprintf("--output %q: want text or json", short(output))}
	default:
		err = checkTimeout(*timeout)
	}
	if err != nil {
		return fail(e, err)
	}
	ctx, cancel := withTimeout(ctx, *timeout)
	defer cancel()
	w, err := openWorkspace(ctx, e, string(dir), backendURL, false)
	if err != nil {
		return failRun(ctx, e, err)
	}
	proj := ""
	if w.project != nil {
		proj = w.project.Name
	}
	ref, err := state.ParseStackRef(pos[0], proj)
	if err != nil {
		return fail(e, usageError{msg: err.Error(), err: err})
	}
	d, err := describeStack(ctx, w.backend, ref)
	if err != nil {
		if errors.Is(err, state.ErrStackNotFound) {
			err = notFoundHint(w.backend.StackNotFound(ctx, ref, err))
		}
		return failRun(ctx, e, err)
	}
	if output == "json" {
		return encodeJSON(e, d)
	}
	printDetail(e, d)
	return exitOK
}

// stackDetail is what show prints.
type stackDetail struct {
	state.StackReport
	Locks   []state.Lock   `json:"locks"`
	History []historyEntry `json:"history"`
}

type historyEntry struct {
	Time            time.Time `json:"time"`
	Kind            string    `json:"kind"` // backup or history
	Object          string    `json:"object"`
	Provider        string    `json:"provider"`
	SecretsProvider string    `json:"secretsprovider,omitempty"`
	Key             string    `json:"key,omitempty"`
	Fingerprint     string    `json:"encryptedkey_sha256,omitempty"`
	Error           string    `json:"error,omitempty"`
}

func describeStack(ctx context.Context, b *state.Backend, ref state.StackRef) (*stackDetail, error) {
	obj, err := b.Find(ctx, ref)
	if err != nil {
		return nil, err
	}
	rep, err := b.Report(ctx, obj, false, false)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", ref, err)
	}
	d := &stackDetail{StackReport: rep}
	if d.Locks, err = b.Locks(ctx, ref); err != nil {
		return nil, err
	}
	d.Locked = len(d.Locks) > 0
	recs, err := b.History(ctx, ref, nil)
	if err != nil {
		return nil, err
	}
	d.History = []historyEntry{}
	for _, r := range recs {
		he := historyEntry{Time: r.Time, Kind: r.Kind, Object: b.Store.Location(r.Key), Provider: state.ProviderClass(r.Head.Provider)}
		if r.Err != nil {
			he.Provider, he.Error = "unknown", r.Err.Error()
		} else if p := r.Head.Provider; p != nil {
			he.SecretsProvider, he.Key, he.Fingerprint = p.CloudURL(), p.KeyID(), p.Fingerprint()
		}
		d.History = append(d.History, he)
	}
	return d, nil
}

func printDetail(e *env, d *stackDetail) {
	out := e.stdout
	name := d.Stack
	if d.Project != "" {
		name = d.Project + "/" + d.Stack
	}
	fmt.Fprintf(out, "stack:        %s\n", safe(name))
	fmt.Fprintf(out, "provider:     %s\n", safe(d.Provider))
	if d.SecretsProvider != "" {
		fmt.Fprintf(out, "url:          %s\n", safe(d.SecretsProvider))
	}
	if d.Key != "" {
		fmt.Fprintf(out, "key:          %s\n", safe(d.Key))
	}
	if d.Region != "" {
		fmt.Fprintf(out, "region:       %s\n", safe(d.Region))
	}
	if d.EncryptedKeySHA != "" {
		fmt.Fprintf(out, "data key:     sha256 %s…\n", safe(d.EncryptedKeySHA))
	}
	fmt.Fprintf(out, "object:       %s\n", safe(d.Object))
	fmt.Fprintf(out, "              %d bytes, %s, checkpoint version %d, modified %s\n", d.Size, safe(d.Compression), d.CheckpointVersion, d.LastModified.UTC().Format(time.RFC3339))
	if d.Legacy {
		fmt.Fprintln(out, "layout:       legacy (pulumi v3.274+ refuses it without PULUMI_DIY_BACKEND_IGNORE_DEPRECATION_ERROR; run pulumi state upgrade)")
	}
	if len(d.Locks) == 0 {
		fmt.Fprintln(out, "locks:        none")
	} else {
		fmt.Fprintf(out, "locks:        %d\n", len(d.Locks))
		for _, l := range d.Locks {
			if l.Username == "" {
				fmt.Fprintf(out, "  %s (unreadable)\n", safe(l.Key))
				continue
			}
			fmt.Fprintf(out, "  %s@%s pid %d since %s\n", safe(l.Username), safe(l.Hostname), l.PID, l.Timestamp.UTC().Format(time.RFC3339))
		}
	}
	if len(d.History) == 0 {
		fmt.Fprintln(out, "history:      no backups or history checkpoints")
		return
	}
	fmt.Fprintln(out, "history:      newest first")
	for _, h := range d.History {
		what := h.Provider
		switch {
		case h.Error != "":
			what += " (" + h.Error + ")"
		case h.Key != "":
			what += " " + h.Key
		case h.SecretsProvider != "":
			what += " " + h.SecretsProvider
		}
		if h.Fingerprint != "" {
			what += " data key " + h.Fingerprint
		}
		fmt.Fprintf(out, "  %s  %-7s  %s\n", h.Time.Format(time.RFC3339), h.Kind, safe(what))
	}
}

func encodeJSON(e *env, v any) int {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		errorLine(e, err)
		return exitError
	}
	return exitOK
}

// checkCmd compares the settings files committed in a repository with state.
func checkCmd(ctx context.Context, args []string, e *env) int {
	fset := newFlagSet("check", e)
	var backendURL, output string
	var allStacks bool
	fset.StringVar(&backendURL, "backend", "", "backend `URL` (default: per project, as pulumi resolves it)")
	fset.BoolVar(&allStacks, "all-stacks", false, "also report backend stacks of each project that have no settings file")
	fset.StringVar(&output, "output", "text", "output format: text or json")
	fset.StringVar(&output, "o", "text", "shorthand for --output")
	timeout := addTimeout(fset)
	dirs, err := parseArgs(fset, args)
	switch {
	case err != nil:
	case output != "text" && output != "json":
		err = usageError{msg: fmt.Sprintf("--output %q: want text or json", short(output))}
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
	type finding struct {
		Project string `json:"project"`
		Stack   string `json:"stack"`
		File    string `json:"file,omitempty"`
		Status  string `json:"status"` // ok, differs, missing-fields, no-stack, no-file, error
		Detail  string `json:"detail,omitempty"`
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
		w     *workspace
		files []string
	}
	var work []checkProject
	total := 0
	backends := map[string]*state.Backend{}
	for _, dir := range projects {
		w, err := openCheckWorkspace(ctx, e, dir, backendURL, backends)
		if err != nil {
			if c, ok := stopped(ctx, e, 0, -1); ok {
				return c
			}
			add(finding{Project: dir, Status: "error", Detail: err.Error()})
			continue
		}
		files, err := w.project.SettingsFiles()
		if err != nil {
			add(finding{Project: w.project.Name, Status: "error", Detail: err.Error()})
			continue
		}
		work = append(work, checkProject{w, files})
		total += len(files)
	}

	// cut is set when a stop (interrupt or --timeout) cut the check short.
	done, cut := 0, false
	for _, cp := range work {
		w, proj := cp.w, cp.w.project.Name
		if cut = ctx.Err() != nil; cut {
			break
		}
		if len(cp.files) > 1 {
			// One listing of the lock files answers for every stack.
			_ = w.loadLocks(ctx)
		}
		have := map[string]bool{}
		for _, stack := range cp.files {
			if cut = ctx.Err() != nil; cut {
				break
			}
			have[stack] = true
			r := restoreOne(ctx, w, state.StackRef{Project: proj, Name: stack}, false, true)
			if cut = r.Action == "error" && ctx.Err() != nil; cut {
				break
			}
			done++
			f := finding{Project: proj, Stack: stack, File: relPath(e.cwd, r.File)}
			switch {
			case r.Action == "unchanged":
				f.Status = "ok"
			case r.Action == "error" && errors.Is(r.err, state.ErrStackNotFound):
				f.Status, f.Detail = "no-stack", "the backend holds no such stack"
			case r.Action == "error":
				f.Status, f.Detail = "error", r.Error
			case r.Action == "conflict":
				f.Status, f.Detail = "differs", "differs from state in "+strings.Join(r.Conflicts, ", ")+" ("+r.Provider+")"
			default:
				f.Status, f.Detail = "missing-fields", "lacks "+strings.Join(append(r.Set, r.Removed...), ", ")+" ("+r.Provider+")"
			}
			add(f)
		}
		if cut {
			break
		}
		if allStacks {
			l, err := w.backend.ListStacks(ctx, proj)
			if err != nil {
				if cut = ctx.Err() != nil; cut {
					break
				}
				add(finding{Project: proj, Status: "error", Detail: err.Error()})
				continue
			}
			for _, s := range l.Stacks {
				if (s.Legacy && !l.Layout.Legacy) || have[s.Ref.Name] {
					continue
				}
				add(finding{Project: proj, Stack: s.Ref.Name, Status: "no-file", Detail: "the backend holds this stack but there is no settings file"})
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

// openCheckWorkspace opens a project's workspace, sharing backends between
// projects that name the same one.
func openCheckWorkspace(ctx context.Context, e *env, dir, flagURL string, cache map[string]*state.Backend) (*workspace, error) {
	proj, err := settings.LoadProject(dir)
	if err != nil {
		return nil, err
	}
	w := &workspace{dir: proj.Dir, project: proj}
	if err := w.openBackend(ctx, e, flagURL, cache); err != nil {
		return nil, fmt.Errorf("%s: %w", proj.Path, err)
	}
	return w, nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/stacksync/stacksync/pkg/state"
)

// showOptions are show's flags.
type showOptions struct {
	dir                dirFlag
	backendURL, output string
	timeout            *time.Duration
}

func newShowCmd(e *env, code *int) *cobra.Command {
	var o showOptions
	cmd := newCommand("show [project/]STACK",
		"Show one stack: provider, key, object, locks and history",
		`Show prints one stack in full: its secrets provider, key and data-key
fingerprint, the checkpoint object (size, compression, version), its locks (who,
where, since when) and the provider recorded by each backup and history
checkpoint, newest first. A stack named without its project takes the project
of the Pulumi.yaml in the directory (-C), if any.

Exit codes: 0 shown, 1 error (the stack is not in the backend, say), 2 usage,
130 interrupted.`,
		`  # The stack dev of the project in the current directory
  stacksync show dev

  # A stack of another project, in another backend, as JSON
  stacksync show web/prod --backend s3://my-pulumi-state -o json`,
		func(cmd *cobra.Command, args []string) int { return runShow(cmd.Context(), e, &o, args) }, code)
	fs := cmd.Flags()
	addBackend(fs, &o.backendURL, backendUsage)
	addCwd(fs, &o.dir)
	addOutput(fs, &o.output, "text", "text or json")
	o.timeout = addTimeout(fs)
	return cmd
}

// runShow shows the one stack pos names in full.
func runShow(ctx context.Context, e *env, o *showOptions, pos []string) int {
	err := checkOutput(o.output, "text", "json")
	switch {
	case len(pos) != 1:
		err = usageError{msg: "show takes one stack: stacksync show [project/]STACK"}
	case err == nil:
		err = checkTimeout(*o.timeout)
	}
	if err != nil {
		return fail(e, err)
	}
	ctx, cancel := withTimeout(ctx, *o.timeout)
	defer cancel()
	w, err := openWorkspace(ctx, e, string(o.dir), o.backendURL, false)
	if err != nil {
		return failRun(ctx, e, err)
	}
	proj := ""
	if w.Project != nil {
		proj = w.Project.Name
	}
	ref, err := state.ParseStackRef(pos[0], proj)
	if err != nil {
		return fail(e, usageError{msg: err.Error(), err: err})
	}
	d, err := describeStack(ctx, w.Backend, ref)
	if err != nil {
		if errors.Is(err, state.ErrStackNotFound) {
			err = w.Backend.StackNotFound(ctx, ref, err)
		}
		return failRun(ctx, e, hint(err))
	}
	if o.output == "json" {
		return encodeJSON(e, d)
	}
	printDetail(e, d)
	return exitOK
}

// stackDetail is what show prints.
type stackDetail struct {
	stackReport
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
	h, err := b.ReadHead(ctx, obj.Key)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", ref, err)
	}
	d := &stackDetail{stackReport: newStackReport(state.StackAudit{Stack: obj, Object: b.Store.Location(obj.Key), Head: h})}
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
		he := historyEntry{Time: r.Time, Kind: r.Kind, Object: b.Store.Location(r.Key), Provider: providerClass(r.Head.Provider)}
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

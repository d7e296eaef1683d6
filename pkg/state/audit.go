package state

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
)

// StackAudit is what an audit finds of one stack.
type StackAudit struct {
	// Stack is the stack and its live checkpoint object, as listed.
	Stack StackObject
	// Object is where that checkpoint is, as the store names it.
	Object string
	// Head is the checkpoint's decoded head; when Err is set, what was
	// read of it before the error.
	Head Head
	// Locked reports whether the stack has a lock file.
	Locked bool
	// Previous is, with history, the newest earlier checkpoint found that
	// records a provider other than Head's; nil when none is found.
	Previous *Record
	// PreviousObject is where Previous is, as the store names it.
	PreviousObject string
	// Err is why the checkpoint could not be read, or why pulumi cannot
	// load the stack file.
	Err error
	// HistoryErr is why the stack's history could not be listed.
	HistoryErr error
}

// errNotCheckpoint is the Err of a stack file pulumi lists but cannot load.
var errNotCheckpoint = errors.New("pulumi lists this stack but only reads .json, .json.gz and .json.zst checkpoints")

// DefaultAuditJobs is how many checkpoints an audit reads at once. Reads
// wait on the network, not the CPU: with 20 ms per request, 64 at once
// audited 10,000 stacks in half the time of 16, and on loopback within
// noise of the best (make bench-compare).
const DefaultAuditJobs = 64

// AuditOptions configure Audit.
type AuditOptions struct {
	// Projects limits the audit to these projects (all when empty).
	Projects []string
	// Jobs bounds how many stacks are read at once (DefaultAuditJobs when
	// zero).
	Jobs int
	// History also reads each stack's backups and history checkpoints to
	// detect a provider that changed.
	History HistoryMode
	// Progress, when set, is called after each stack with the number done
	// and the total.
	Progress func(done, total int)
}

// Audit reads every live stack's checkpoint and hands what it finds to
// fn, sorted by project and stack, each as soon as it and every stack
// before it are read: what is held at once is bounded by the number of
// jobs, not by the number of stacks. It lists the backend's stacks (one
// listing, or one per project and one of the legacy location) and its
// lock files (one listing), and reads meta.yaml and each checkpoint once.
//
// A stack that cannot be read is handed to fn with Err set, and the audit
// goes on; only a failure to list the backend is an error. fn is called
// from Audit's goroutine, one stack at a time. An error from fn stops the
// audit and is returned; so is the context's error when it ends before
// every stack is handed over.
func (b *Backend) Audit(ctx context.Context, opts AuditOptions, fn func(StackAudit) error) error {
	l, err := b.ListStacks(ctx, opts.Projects...)
	if err != nil {
		return err
	}
	locked, err := b.lockedStacks(ctx)
	if err != nil {
		return err
	}
	extra := b.unreadable(l)
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = DefaultAuditJobs
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// A dispatcher hands stacks to the workers in listing order and queues
	// one result slot per stack; the queue's capacity bounds how far the
	// workers run ahead of fn.
	type job struct {
		s   StackObject
		out chan StackAudit
	}
	work := make(chan job)
	queue := make(chan chan StackAudit, 4*jobs)
	go func() {
		defer close(queue)
		defer close(work)
		for _, s := range l.Stacks {
			j := job{s: s, out: make(chan StackAudit, 1)}
			select {
			case work <- j:
			case <-ctx.Done():
				return
			}
			// A job handed out is always answered, so the slot of
			// every queued job is filled.
			select {
			case queue <- j.out:
			case <-ctx.Done():
				return
			}
		}
	}()
	var (
		wg   sync.WaitGroup
		done atomic.Int64
	)
	for range min(jobs, len(l.Stacks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				j.out <- b.auditStack(ctx, j.s, locked[j.s.Ref], opts.History)
				if opts.Progress != nil {
					opts.Progress(int(done.Add(1)), len(l.Stacks))
				}
			}
		}()
	}
	defer wg.Wait()

	emit := func(a StackAudit) error {
		// Unreadable stack files sort among the stacks.
		for len(extra) > 0 && refLess(extra[0].Stack.Ref, a.Stack.Ref) {
			if err := fn(extra[0]); err != nil {
				return err
			}
			extra = extra[1:]
		}
		return fn(a)
	}
	n := 0
	for out := range queue {
		a := <-out
		if ctx.Err() != nil {
			break
		}
		if err := emit(a); err != nil {
			cancel()
			return err
		}
		n++
	}
	// Our context is only cancelled above: an end is the caller's.
	if err := parent.Err(); err != nil {
		return err
	}
	if n < len(l.Stacks) {
		return fmt.Errorf("audit stopped after %d of %d stacks", n, len(l.Stacks))
	}
	for _, a := range extra {
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}

// unreadable returns the audits of the stack files l lists that pulumi
// cannot load, sorted as the stacks are, one per stack, and none for a
// stack that also has a readable checkpoint: pulumi loads that one.
func (b *Backend) unreadable(l Listing) []StackAudit {
	var extra []StackAudit
	for _, o := range l.Unreadable {
		ref, _, _ := parseStackKey(o.Key)
		extra = append(extra, StackAudit{
			Stack:  StackObject{Ref: ref, Object: o, Legacy: ref.Project == ""},
			Object: b.Store.Location(o.Key),
			Err:    errNotCheckpoint,
		})
	}
	sort.SliceStable(extra, func(i, j int) bool { return refLess(extra[i].Stack.Ref, extra[j].Stack.Ref) })
	// Both lists are sorted: drop duplicates and stacks l.Stacks holds in
	// one pass over each.
	kept, i := extra[:0], 0
	for _, a := range extra {
		ref := a.Stack.Ref
		if len(kept) > 0 && kept[len(kept)-1].Stack.Ref == ref {
			continue
		}
		for i < len(l.Stacks) && refLess(l.Stacks[i].Ref, ref) {
			i++
		}
		if i < len(l.Stacks) && l.Stacks[i].Ref == ref {
			continue
		}
		kept = append(kept, a)
	}
	return kept
}

// auditStack reads one stack's checkpoint and, by the history mode,
// compares it with the stack's earlier checkpoints.
func (b *Backend) auditStack(ctx context.Context, s StackObject, locked bool, history HistoryMode) StackAudit {
	a := StackAudit{Stack: s, Object: b.Store.Location(s.Key), Locked: locked}
	a.Head, a.Err = b.ReadHead(ctx, s.Key)
	if a.Err != nil || history == HistoryOff {
		return a
	}
	srcs, err := b.historySources(ctx, s.Ref)
	if err != nil {
		a.HistoryErr = fmt.Errorf("reading history: %w", err)
		return a
	}
	var rec Record
	var found bool
	if history == HistoryAll {
		rec, found = exhaustiveFlip(ctx, b, srcs, a.Head.Provider)
	} else {
		rec, found = boundedFlip(ctx, b, srcs, a.Head.Provider)
	}
	if found {
		a.Previous, a.PreviousObject = &rec, b.Store.Location(rec.Key)
	}
	return a
}

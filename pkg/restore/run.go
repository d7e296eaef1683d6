package restore

import (
	"context"

	"github.com/stacksync/stacksync/pkg/secrets"
	"github.com/stacksync/stacksync/pkg/state"
)

// Mode is what Run does to each stack's settings file.
type Mode int

const (
	// Write restores the provider fields, writing the file atomically.
	Write Mode = iota
	// Check works out what Write would do and writes nothing; Result.After
	// holds what the file would become.
	Check
	// Verify reads the file as it is and writes nothing; with a Verifier,
	// the verdict judges the file as it is, not as Write would leave it.
	Verify
)

// DefaultJobs is how many stacks Run reads at once when it has many.
const DefaultJobs = state.DefaultAuditJobs

// Options configure Run. The zero value restores for real and refuses
// conflicts.
type Options struct {
	Mode Mode
	// Force replaces values that differ from state instead of reporting a
	// Conflict.
	Force bool
	// Verifier, when set, checks each stack that got a provider: that its
	// settings file agrees with state and that pulumi will decrypt
	// (Result.Verify).
	Verifier *secrets.Verifier
	// Jobs bounds how many stacks are read at once; DefaultJobs when 0.
	Jobs int
}

// Run handles the stacks refs of the workspace's project and calls fn with
// each one's Result, in the order of refs. One stack is looked up in one
// round of concurrent requests; many are found in one listing of the
// project (shared with Stacks) and read Jobs at a time, with one listing of
// the backend's locks.
//
// When ctx is done Run starts no other stack, drops the results the stop
// cut short (they wrote nothing: a write is one rename after every read)
// and returns ctx's error. An error from fn stops Run and is returned.
func (w *Workspace) Run(ctx context.Context, refs []state.StackRef, opts Options, fn func(Result) error) error {
	if len(refs) == 1 {
		r := w.one(ctx, refs[0], opts)
		if cutShort(ctx, r) {
			return ctx.Err()
		}
		return fn(r)
	}
	l, err := w.list(ctx)
	if err != nil {
		return err
	}
	locked, err := w.Backend.ProjectLocks(ctx, w.Project.Name)
	if err != nil {
		// A lock only adds a warning: one that cannot be listed is none,
		// unless the run itself was stopped.
		if ctx.Err() != nil {
			return ctx.Err()
		}
		locked = nil
	}
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = DefaultJobs
	}
	return ordered(ctx, len(refs), jobs, func(ctx context.Context, i int) Result {
		return w.listed(ctx, l, locked, refs[i], opts)
	}, fn)
}

// Stacks opens the project that dir is in and its backend, and runs the
// named stacks (every stack of the project when names is empty) with opts:
// the whole pipeline in one call, for a Go program.
func Stacks(ctx context.Context, dir string, names []string, cfg Config, opts Options) ([]Result, error) {
	w, err := Open(ctx, dir, cfg)
	if err != nil {
		return nil, err
	}
	refs, err := w.Stacks(ctx, names, len(names) == 0)
	if err != nil {
		return nil, err
	}
	var results []Result
	err = w.Run(ctx, refs, opts, func(r Result) error {
		results = append(results, r)
		return nil
	})
	return results, err
}

// cutShort reports whether r failed because ctx was done: the stop cut it
// short, before it wrote anything (a write is one rename after every
// read), so it is no result.
func cutShort(ctx context.Context, r Result) bool {
	return ctx.Err() != nil && (r.Status == Failed || r.Verify != nil && r.Verify.Status == secrets.StatusError)
}

// ordered runs work for 0..n-1 with at most jobs at once and hands their
// results to deliver in index order. It holds at most jobs results that
// wait for delivery, so memory does not grow with n. When deliver returns
// an error or ctx is done, it starts no more work and waits for what runs;
// after a stop it still delivers the results that completed, but not those
// that failed (the stop cut them short), and returns ctx's error.
func ordered(ctx context.Context, n, jobs int, work func(context.Context, int) Result, deliver func(Result) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type slot struct {
		done chan struct{}
		r    Result
	}
	queue := make(chan *slot, jobs)
	go func() {
		defer close(queue)
		for i := 0; i < n; i++ {
			s := &slot{done: make(chan struct{})}
			select {
			case queue <- s:
			case <-ctx.Done():
				return
			}
			go func() {
				defer close(s.done)
				s.r = work(ctx, i)
			}()
		}
	}()
	var err error
	for s := range queue {
		<-s.done
		switch {
		case err != nil:
			// Draining after an error: deliver nothing more.
		case cutShort(ctx, s.r):
			// Cut short by the stop: it wrote nothing.
		default:
			if err = deliver(s.r); err != nil {
				cancel() // the producer stops; what runs is waited for
			}
		}
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

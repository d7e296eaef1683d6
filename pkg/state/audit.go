package state

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Provider classes an audit reports. Cloud providers are reported by their
// keeper scheme.
var ProviderClasses = []string{"awskms", "gcpkms", "azurekeyvault", "hashivault", "passphrase", "service", "none", "unknown"}

// ProviderClass returns the class of a recorded provider for reports: its
// Kind when that is one of the ProviderClasses, "none" for a nil provider,
// and "unknown" for anything else (an unknown type, or a cloud URL whose
// scheme pulumi does not register).
func ProviderClass(p *SecretsProvider) string {
	if p == nil {
		return "none"
	}
	k := p.Kind()
	for _, c := range ProviderClasses {
		if c == k {
			return k
		}
	}
	return "unknown"
}

// StackReport is what an audit says of one stack. The JSON names are stable:
// users script against them.
type StackReport struct {
	Project           string    `json:"project"`
	Stack             string    `json:"stack"`
	Provider          string    `json:"provider"`
	SecretsProvider   string    `json:"secretsprovider"`
	Key               string    `json:"key"`
	Region            string    `json:"region"`
	EncryptedKeySHA   string    `json:"encryptedkey_sha256"`
	Object            string    `json:"object"`
	Size              int64     `json:"size"`
	LastModified      time.Time `json:"last_modified"`
	Compression       string    `json:"compression"`
	CheckpointVersion int       `json:"checkpoint_version"`
	Locked            bool      `json:"locked"`
	// Legacy marks a stack file in the legacy (non-project) location.
	Legacy bool `json:"legacy"`
	// Flipped, with History on, says the live provider differs from the one
	// an earlier backup or history checkpoint records; Previous* describe
	// the newest such earlier provider.
	Flipped                 bool   `json:"flipped"`
	PreviousProvider        string `json:"previous_provider,omitempty"`
	PreviousSecretsProvider string `json:"previous_secretsprovider,omitempty"`
	PreviousObject          string `json:"previous_object,omitempty"`
	Error                   string `json:"error"`
	// KeyState and DeletionDate are, with audit --keys, the state of an
	// awskms stack's KMS key (pkg/secrets.KeyAuditor fills them).
	KeyState     string     `json:"key_state,omitempty"`
	DeletionDate *time.Time `json:"deletion_date,omitempty"`

	// Ref is the stack's reference; Head the decoded head (zero on error).
	Ref  StackRef `json:"-"`
	Head Head     `json:"-"`
}

// AuditOptions configure Audit.
type AuditOptions struct {
	// Projects limits the audit to these projects (all when empty).
	Projects []string
	// Jobs bounds how many stacks are read at once (16 when zero).
	Jobs int
	// History also reads each stack's backups and history checkpoints to
	// detect a provider that changed.
	History bool
	// Progress, when set, is called after each stack with the number done
	// and the total.
	Progress func(done, total int)
}

// Audit reads the head of every live stack's checkpoint and reports its
// secrets provider. A stack that cannot be read is reported with Error set,
// and the audit goes on; only a failure to list the backend is an error.
func (b *Backend) Audit(ctx context.Context, opts AuditOptions) ([]StackReport, error) {
	l, err := b.ListStacks(ctx, opts.Projects...)
	if err != nil {
		return nil, err
	}
	locked, err := b.LockedStacks(ctx)
	if err != nil {
		return nil, err
	}
	reports := make([]StackReport, len(l.Stacks), len(l.Stacks)+len(l.Unreadable))
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = 16
	}
	var (
		wg   sync.WaitGroup
		next atomic.Int64
		done atomic.Int64
	)
	for range min(jobs, len(l.Stacks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(l.Stacks) || ctx.Err() != nil {
					return
				}
				s := l.Stacks[i]
				reports[i], _ = b.Report(ctx, s, locked[s.Ref], opts.History)
				if opts.Progress != nil {
					opts.Progress(int(done.Add(1)), len(l.Stacks))
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A .yaml beside a readable .json of the same stack does not make the
	// stack unreadable: pulumi loads the .json. Report each stack once.
	seen := make(map[StackRef]bool, len(l.Stacks))
	for _, s := range l.Stacks {
		seen[s.Ref] = true
	}
	for _, o := range l.Unreadable {
		ref, _, _ := ParseStackKey(o.Key)
		if seen[ref] {
			continue
		}
		seen[ref] = true
		reports = append(reports, StackReport{
			Project: ref.Project, Stack: ref.Name, Provider: "unknown", Ref: ref,
			Object: b.Store.Location(o.Key), Size: o.Size, LastModified: o.ModTime, Legacy: ref.Project == "",
			Error: "pulumi lists this stack but only reads .json, .json.gz and .json.zst checkpoints",
		})
	}
	sort.SliceStable(reports, func(i, j int) bool {
		a, b := reports[i], reports[j]
		if a.Project != b.Project {
			return a.Project < b.Project
		}
		return a.Stack < b.Stack
	})
	return reports, nil
}

// Report reads the head of one stack's checkpoint and reports it, as an
// audit does. When the checkpoint cannot be read, the report has provider
// "unknown" and Error set, and the error is also returned.
func (b *Backend) Report(ctx context.Context, s StackObject, locked, history bool) (StackReport, error) {
	r := StackReport{
		Project: s.Ref.Project, Stack: s.Ref.Name, Ref: s.Ref,
		Object: b.Store.Location(s.Key), Size: s.Size, LastModified: s.ModTime,
		Locked: locked, Legacy: s.Legacy,
	}
	h, err := b.ReadHead(ctx, s.Key)
	r.Head, r.Compression, r.CheckpointVersion = h, h.Compression, h.Version
	if err != nil {
		r.Provider, r.Error = "unknown", err.Error()
		return r, err
	}
	r.describe(h.Provider)
	if history {
		r.compareHistory(ctx, b)
	}
	return r, nil
}

// describe fills the provider fields from p.
func (r *StackReport) describe(p *SecretsProvider) {
	r.Provider = ProviderClass(p)
	if p == nil {
		return
	}
	r.SecretsProvider = p.CloudURL()
	r.Key, r.Region, r.EncryptedKeySHA = p.KeyID(), p.Region(), p.Fingerprint()
}

// compareHistory reads the stack's earlier checkpoints, newest first, and
// stops at the first whose provider differs from the live one.
func (r *StackReport) compareHistory(ctx context.Context, b *Backend) {
	live := r.Head.Provider
	differs := func(rec Record) bool {
		return rec.Err == nil && rec.Head.Provider != nil && !sameAuditProvider(live, rec.Head.Provider)
	}
	recs, err := b.History(ctx, r.Ref, differs)
	if err != nil {
		r.Error = fmt.Sprintf("reading history: %v", err)
		return
	}
	if len(recs) > 0 && differs(recs[len(recs)-1]) {
		rec := recs[len(recs)-1]
		r.Flipped = true
		r.PreviousProvider = ProviderClass(rec.Head.Provider)
		r.PreviousSecretsProvider = rec.Head.Provider.CloudURL()
		r.PreviousObject = b.Store.Location(rec.Key)
	}
}

// sameAuditProvider reports whether two recorded providers are the same provider
// for an audit: the same type and URL. A new data key or salt under the same
// provider is not a flip.
func sameAuditProvider(a, b *SecretsProvider) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Type == b.Type && a.URL == b.URL
}

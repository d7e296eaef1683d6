package main

import (
	"time"

	"github.com/stacksync/stacksync/pkg/state"
)

// providerClasses are the provider classes audit reports and --fail-on
// takes, in the order the table's summary line names them. Cloud
// providers are reported by their keeper scheme.
var providerClasses = []string{"awskms", "gcpkms", "azurekeyvault", "hashivault", "passphrase", "service", "none", "unknown"}

// providerClass returns the class of a recorded provider: its Kind when
// that is one of the providerClasses, "none" for a nil provider, and
// "unknown" for anything else (an unknown type, or a cloud URL whose
// scheme pulumi does not register).
func providerClass(p *state.SecretsProvider) string {
	if p == nil {
		return "none"
	}
	k := p.Kind()
	for _, c := range providerClasses {
		if c == k {
			return k
		}
	}
	return "unknown"
}

// stackReport is what audit and show print of one stack. The JSON names
// are stable: users script against them. The same list of fields, in the
// same order and under the same names, makes the CSV columns: a field
// tagged csv:"-" is not a column, and one tagged csv:"keys" is one only
// with audit --keys.
type stackReport struct {
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
	// Flipped, with --history, says the live provider differs from the
	// one an earlier backup or history checkpoint records; Previous*
	// describe the newest such earlier provider.
	Flipped                 bool   `json:"flipped"`
	PreviousProvider        string `json:"previous_provider,omitempty"`
	PreviousSecretsProvider string `json:"previous_secretsprovider,omitempty"`
	PreviousObject          string `json:"previous_object,omitempty" csv:"-"`
	Error                   string `json:"error"`
	// KeyState and DeletionDate are, with audit --keys, the state of an
	// awskms stack's KMS key (see annotateKey).
	KeyState     string     `json:"key_state,omitempty" csv:"keys"`
	DeletionDate *time.Time `json:"deletion_date,omitempty" csv:"keys"`
}

// newStackReport describes what an audit found of one stack. A stack
// whose checkpoint cannot be read has provider "unknown" and its error.
func newStackReport(a state.StackAudit) stackReport {
	r := stackReport{
		Project: a.Stack.Ref.Project, Stack: a.Stack.Ref.Name,
		Object: a.Object, Size: a.Stack.Size, LastModified: a.Stack.ModTime,
		Compression: a.Head.Compression, CheckpointVersion: a.Head.Version,
		Locked: a.Locked, Legacy: a.Stack.Legacy,
	}
	if a.Err != nil {
		r.Provider, r.Error = "unknown", a.Err.Error()
		return r
	}
	p := a.Head.Provider
	r.Provider = providerClass(p)
	if p != nil {
		r.SecretsProvider = p.CloudURL()
		r.Key, r.Region, r.EncryptedKeySHA = p.KeyID(), p.Region(), p.Fingerprint()
	}
	if a.HistoryErr != nil {
		r.Error = a.HistoryErr.Error()
	}
	if prev := a.Previous; prev != nil {
		r.Flipped = true
		r.PreviousProvider = providerClass(prev.Head.Provider)
		r.PreviousSecretsProvider = prev.Head.Provider.CloudURL()
		r.PreviousObject = a.PreviousObject
	}
	return r
}

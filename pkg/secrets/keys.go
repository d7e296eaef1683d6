package secrets

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// Key states besides KMS's own (Enabled, Disabled, PendingDeletion,
// PendingImport, PendingReplicaDeletion, Unavailable, Creating, Updating).
const (
	// StateNotFound: DescribeKey found no such key in the region.
	StateNotFound = "NotFound"
	// StateAccessDenied: DescribeKey was denied.
	StateAccessDenied = "AccessDenied"
)

// KeyHealth is what DescribeKey says of one KMS key.
type KeyHealth struct {
	// KeyARN is the key's ARN, when DescribeKey answered.
	KeyARN string
	// State is the key state, StateNotFound or StateAccessDenied; empty
	// when Err is set.
	State string
	// DeletionDate is set for a key pending deletion.
	DeletionDate time.Time
	// Err is why the state is unknown (a bad URL, no credentials, KMS
	// unreachable).
	Err error
}

// describe asks DescribeKey about keyID.
func describe(ctx context.Context, cl *awsClients, keyID string) KeyHealth {
	out, err := cl.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyID)})
	switch {
	case err == nil && out.KeyMetadata != nil:
		h := KeyHealth{KeyARN: aws.ToString(out.KeyMetadata.Arn), State: string(out.KeyMetadata.KeyState)}
		if out.KeyMetadata.DeletionDate != nil {
			h.DeletionDate = *out.KeyMetadata.DeletionDate
		}
		return h
	case err == nil:
		return KeyHealth{Err: fmt.Errorf("DescribeKey %s: no key metadata in the answer", keyID)}
	}
	switch apiCode(err) {
	case "NotFoundException":
		return KeyHealth{State: StateNotFound}
	case "AccessDeniedException":
		return KeyHealth{State: StateAccessDenied}
	}
	return KeyHealth{Err: fmt.Errorf("DescribeKey %s: %s", keyID, shortErr(err))}
}

// KeyAuditor reports the state of the KMS keys of awskms stacks, with one
// DescribeKey per distinct key (the same key id under the same AWS
// configuration), however many stacks use it. It is safe for concurrent
// use.
type KeyAuditor struct {
	clients clientCache
	mu      sync.Mutex
	keys    map[string]*keyEntry
}

type keyEntry struct {
	once sync.Once
	h    KeyHealth
}

// NewKeyAuditor returns a KeyAuditor whose clients use opts.
func NewKeyAuditor(opts AWSOptions) *KeyAuditor {
	return &KeyAuditor{clients: clientCache{opts: opts}, keys: map[string]*keyEntry{}}
}

// Key returns the health of the key the awskms URL rawURL names, asking
// DescribeKey only for the first URL that names it.
func (a *KeyAuditor) Key(ctx context.Context, rawURL string) KeyHealth {
	k, err := parseKMSURL(rawURL)
	if err != nil {
		return KeyHealth{Err: err}
	}
	id := k.clientKey + "\x00" + k.keyID
	a.mu.Lock()
	e, found := a.keys[id]
	if !found {
		e = &keyEntry{}
		a.keys[id] = e
	}
	a.mu.Unlock()
	e.once.Do(func() {
		cl, err := a.clients.get(ctx, k)
		if err != nil {
			e.h = KeyHealth{Err: err}
			return
		}
		if cl.cfg.Region == "" {
			e.h = KeyHealth{Err: fmt.Errorf("no AWS region for %s: set AWS_REGION or add ?region= to the URL", k.keyID)}
			return
		}
		e.h = describe(ctx, cl, k.keyID)
	})
	return e.h
}

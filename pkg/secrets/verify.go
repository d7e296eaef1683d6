package secrets

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/stacksync/stacksync/pkg/state"
)

// Verifier checks that stacks' secrets providers will decrypt. It is safe
// for concurrent use, and caches what stacks share: one AWS configuration
// per set of URL parameters, one passphrase check per salt.
type Verifier struct {
	// LookupEnv reads PULUMI_CONFIG_PASSPHRASE and
	// PULUMI_CONFIG_PASSPHRASE_FILE; os.LookupEnv when nil. (The AWS
	// configuration comes from the process environment, as pulumi's does.)
	LookupEnv func(string) (string, bool)
	// Dir is the directory pulumi runs in, which a relative
	// PULUMI_CONFIG_PASSPHRASE_FILE is relative to.
	Dir string
	// AWS configures the KMS and STS clients.
	AWS AWSOptions

	clients clientCache
	once    sync.Once
	mu      sync.Mutex
	salts   map[string]Result
}

// Verify checks that pulumi will decrypt with the secrets provider p, as
// a checkpoint records it: awskms with one KMS Decrypt of the data key,
// passphrase by opening the salt's check value with the passphrase pulumi
// would read. An unknown or incomplete provider is a finding; other cloud
// providers and the service provider are reported not verified.
func (v *Verifier) Verify(ctx context.Context, p state.SecretsProvider) Result {
	if !p.Known() {
		return fail(ReasonBadState, "the checkpoint records secrets provider type %q, which pulumi does not know", cut(p.Type))
	}
	if err := p.Complete(); err != nil {
		return fail(ReasonBadState, "the checkpoint's secrets provider is incomplete: %v", err)
	}
	switch p.Kind() {
	case "passphrase":
		return v.verifyPassphrase(ctx, p.Salt)
	case "awskms":
		v.once.Do(func() { v.clients.opts = v.AWS })
		return v.verifyAWSKMS(ctx, p.URL, p.EncryptedKey)
	case "service":
		return notVerified(ReasonServiceProvider, "the Pulumi Cloud secrets provider needs a pulumi login to the service; not verified")
	default:
		return notVerified(ReasonNoVerifier, "stacksync does not verify %s keys; pulumi will use %s with this job's credentials", p.Kind(), p.URL)
	}
}

// verifyPassphrase checks the passphrase pulumi would read against salt.
// The result is cached per salt: the derivation costs a million rounds of
// HMAC-SHA256. A check that ctx cut short is not cached.
func (v *Verifier) verifyPassphrase(ctx context.Context, salt string) Result {
	v.mu.Lock()
	defer v.mu.Unlock()
	if r, found := v.salts[salt]; found {
		return r
	}
	r := v.checkPassphrase(ctx, salt)
	if ctx.Err() != nil && r.Status == StatusError {
		return r
	}
	if v.salts == nil {
		v.salts = map[string]Result{}
	}
	v.salts[salt] = r
	return r
}

func (v *Verifier) checkPassphrase(ctx context.Context, salt string) Result {
	p, err := readPassphrase(ctx, v.LookupEnv, v.Dir)
	switch {
	case errors.Is(err, ErrNoPassphrase):
		return fail(ReasonPassphraseMissing, "neither %s nor %s is set: pulumi would fail with \"passphrase must be set\"", EnvPassphrase, EnvPassphraseFile)
	case err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()):
		// Stopped, not a finding: the verdict is unknown.
		return errorResult(ReasonPassphraseFile, "%v", err)
	case err != nil:
		return fail(ReasonPassphraseFile, "%v", err)
	}
	switch err := checkSalt(salt, p); {
	case err == nil:
		return ok(ReasonPassphraseCorrect, "the passphrase from %s opens the stack's salt", p.Source)
	case errors.Is(err, ErrIncorrectPassphrase):
		return fail(ReasonPassphraseWrong, "the passphrase from %s is not the stack's: pulumi would fail with \"incorrect passphrase\"", p.Source)
	case errors.Is(err, ErrBadSalt):
		return fail(ReasonBadSalt, "the stack's encryptionsalt: %v", err)
	default:
		return errorResult(ReasonBadSalt, "checking the passphrase: %v", err)
	}
}

// String returns r as one line: status, reason and message.
func (r Result) String() string {
	return fmt.Sprintf("%s (%s): %s", r.Status, r.Reason, r.Message)
}

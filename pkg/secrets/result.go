package secrets

import (
	"fmt"
	"time"
)

// Status is a verification's verdict on one stack.
type Status int

const (
	// StatusOK: pulumi will be able to decrypt the stack's secrets.
	StatusOK Status = iota
	// StatusFail: pulumi will not; Reason says why. A finding.
	StatusFail
	// StatusNotVerified: no verifier for this provider (gcpkms,
	// azurekeyvault, hashivault, service); Reason and Message say so.
	StatusNotVerified
	// StatusError: the verification itself failed (KMS unreachable,
	// throttled, a server error), so the verdict is unknown.
	StatusError
)

var statusNames = [...]string{"ok", "fail", "not-verified", "error"}

// String returns the stable name of s: ok, fail, not-verified or error.
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Reason is the stable, machine-readable cause of a Result.
type Reason string

// Reasons. Scripts branch on them; the set only grows.
const (
	// ReasonDecrypted: KMS decrypted the data key.
	ReasonDecrypted Reason = "decrypted"
	// ReasonPassphraseCorrect: the passphrase opens the salt's check value.
	ReasonPassphraseCorrect Reason = "passphrase-correct"

	// ReasonAccessDenied: KMS refused the principal (Result.Principal).
	ReasonAccessDenied Reason = "access-denied"
	// ReasonKeyDisabled: the KMS key is disabled.
	ReasonKeyDisabled Reason = "key-disabled"
	// ReasonKeyPendingDeletion: the KMS key is scheduled for deletion
	// (Result.DeletionDate).
	ReasonKeyPendingDeletion Reason = "key-pending-deletion"
	// ReasonKeyUnavailable: the KMS key is in another unusable state
	// (PendingImport, Unavailable, …; Result.KeyState).
	ReasonKeyUnavailable Reason = "key-unavailable"
	// ReasonKeyNotFound: no such key in the region asked.
	ReasonKeyNotFound Reason = "key-not-found"
	// ReasonWrongRegion: the key lives in another region than the one
	// the request went to.
	ReasonWrongRegion Reason = "wrong-region"
	// ReasonInvalidCiphertext: KMS cannot decrypt the encrypted key
	// (damaged, another key's, or another encryption context), or it is
	// not base64, or it does not decrypt to a 32-byte key.
	ReasonInvalidCiphertext Reason = "invalid-ciphertext"
	// ReasonNoCredentials: no usable AWS credentials or region.
	ReasonNoCredentials Reason = "no-credentials"
	// ReasonBadURL: pulumi cannot open the secrets provider URL.
	ReasonBadURL Reason = "bad-url"

	// ReasonPassphraseWrong: the passphrase does not open the check value.
	ReasonPassphraseWrong Reason = "passphrase-wrong"
	// ReasonPassphraseMissing: neither PULUMI_CONFIG_PASSPHRASE nor
	// PULUMI_CONFIG_PASSPHRASE_FILE is set: pulumi's "passphrase must be
	// set" error.
	ReasonPassphraseMissing Reason = "passphrase-missing"
	// ReasonPassphraseFile: PULUMI_CONFIG_PASSPHRASE_FILE cannot be read.
	ReasonPassphraseFile Reason = "passphrase-file-unreadable"
	// ReasonBadSalt: the salt is not one pulumi can use.
	ReasonBadSalt Reason = "bad-salt"

	// ReasonSettingsMissing: the settings file does not exist.
	ReasonSettingsMissing Reason = "settings-missing"
	// ReasonSettingsMismatch: the settings file's provider fields differ
	// from the checkpoint's (or are missing).
	ReasonSettingsMismatch Reason = "settings-mismatch"
	// ReasonSettingsUnreadable: the settings file cannot be parsed.
	ReasonSettingsUnreadable Reason = "settings-unreadable"
	// ReasonBadState: the checkpoint's provider is unknown or incomplete.
	ReasonBadState Reason = "bad-state"

	// ReasonNoVerifier: gcpkms, azurekeyvault or hashivault, which this
	// package does not verify.
	ReasonNoVerifier Reason = "no-verifier"
	// ReasonServiceProvider: the Pulumi Cloud ("service") provider.
	ReasonServiceProvider Reason = "service-provider"

	// ReasonKMSError: KMS or the network failed; the verdict is unknown.
	ReasonKMSError Reason = "kms-error"
)

// Result is the verdict on one stack. It never holds a plaintext data key,
// a passphrase or a key derived from one.
type Result struct {
	Status Status
	Reason Reason
	// Message is one line for people: what was checked, and on a
	// finding, what to do.
	Message string
	// Principal is the caller's ARN from STS GetCallerIdentity, asked
	// only when KMS denied access.
	Principal string
	// KeyARN is the KMS key that decrypted the data key, or the key the
	// URL names as DescribeKey resolved it.
	KeyARN string
	// KeyState is the KMS key state, when a DescribeKey was made.
	KeyState string
	// DeletionDate is when a key pending deletion will be deleted.
	DeletionDate time.Time
	// Warning is a caveat on a verdict of ok (the data key is encrypted
	// under another key than the URL names, say).
	Warning string
}

func ok(reason Reason, format string, args ...any) Result {
	return Result{Status: StatusOK, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func fail(reason Reason, format string, args ...any) Result {
	return Result{Status: StatusFail, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func notVerified(reason Reason, format string, args ...any) Result {
	return Result{Status: StatusNotVerified, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func errorResult(reason Reason, format string, args ...any) Result {
	return Result{Status: StatusError, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

package secrets

import (
	"context"
	"errors"
	"strings"
	"time"

	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
)

// apiCode returns the AWS error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// apiMessage returns the AWS error message of err, or err's text.
func apiMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorMessage() != "" {
		return ae.ErrorMessage()
	}
	return err.Error()
}

// diagnose turns a failed Decrypt into a Result with its cause.
func (v *Verifier) diagnose(ctx context.Context, cl *awsClients, k kmsURL, rawURL string, decryptErr error) Result {
	region := cl.cfg.Region
	if ctx.Err() != nil {
		return errorResult(ReasonKMSError, "decrypting the data key of %s: %v", rawURL, ctx.Err())
	}
	switch apiCode(decryptErr) {
	case "DisabledException", "KMSInvalidStateException", "AccessDeniedException", "NotFoundException":
		return v.keyStateResult(ctx, cl, k, rawURL, decryptErr)
	case "InvalidCiphertextException", "IncorrectKeyException":
		if r := k.arnRegion(); r != "" && r != region {
			return fail(ReasonWrongRegion, "key %s is in %s, but the request for %s went to %s: set ?region=%s in the secrets provider URL (or AWS_REGION)",
				k.keyID, r, rawURL, region, r)
		}
		return fail(ReasonInvalidCiphertext, "KMS in %s cannot decrypt the encryptedkey of %s (%s): it is damaged, encrypted under another key, or with other context_ parameters; restore the settings file from state",
			region, rawURL, apiMessage(decryptErr))
	case "UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException", "ExpiredTokenException", "IncompleteSignature":
		return fail(ReasonNoCredentials, "KMS in %s refused the credentials for %s: %s", region, rawURL, apiMessage(decryptErr))
	}
	return errorResult(ReasonKMSError, "decrypting the data key of %s in %s: %v", rawURL, region, shortErr(decryptErr))
}

// keyStateResult asks DescribeKey for the state of the URL's key after a
// Decrypt failed with decryptErr, and turns the answer into the cause.
// AWS answers a Decrypt whose key is missing from the region, disabled or
// not the caller's alike, as denied, so the key's own state decides; when
// that is hidden too, Decrypt's error does.
func (v *Verifier) keyStateResult(ctx context.Context, cl *awsClients, k kmsURL, rawURL string, decryptErr error) Result {
	region := cl.cfg.Region
	h := describe(ctx, cl, k.keyID)
	code := apiCode(decryptErr)
	pendingDeletion := func(date time.Time) Result {
		when := "a date KMS did not give"
		if !date.IsZero() {
			when = date.UTC().Format(time.RFC3339)
		}
		return fail(ReasonKeyPendingDeletion, "KMS key %s (%s) is pending deletion on %s: cancel it (aws kms cancel-key-deletion) now, or every secret of the stack is lost then",
			k.keyID, region, when)
	}
	var r Result
	switch {
	case h.State == StateNotFound && k.arnRegion() != "" && k.arnRegion() != region:
		r = fail(ReasonWrongRegion, "key %s is in %s, but the request for %s went to %s: set ?region=%s in the secrets provider URL (or AWS_REGION)",
			k.keyID, k.arnRegion(), rawURL, region, k.arnRegion())
	case h.State == StateNotFound, h.State == "" && code == "NotFoundException":
		r = fail(ReasonKeyNotFound, "KMS key %s does not exist in %s (deleted, or in another region or account), so the data key of %s cannot be decrypted there",
			k.keyID, region, rawURL)
	case h.State == string(kmstypes.KeyStateDisabled), h.State != string(kmstypes.KeyStateEnabled) && code == "DisabledException":
		r = fail(ReasonKeyDisabled, "KMS key %s (%s) is disabled: enable it (aws kms enable-key) before pulumi runs", k.keyID, region)
	case h.State == string(kmstypes.KeyStatePendingDeletion):
		r = pendingDeletion(h.DeletionDate)
	case h.State != "" && h.State != string(kmstypes.KeyStateEnabled) && h.State != StateAccessDenied:
		r = fail(ReasonKeyUnavailable, "KMS key %s (%s) is %s, so it cannot decrypt", k.keyID, region, h.State)
	case code == "KMSInvalidStateException" && strings.Contains(apiMessage(decryptErr), "pending deletion"):
		r = pendingDeletion(time.Time{})
	case code == "KMSInvalidStateException":
		r = fail(ReasonKeyUnavailable, "KMS key of the data key of %s cannot decrypt in its state: %s", rawURL, apiMessage(decryptErr))
	case code == "AccessDeniedException":
		// The URL's key is usable, or its state is hidden too: a denial.
		principal, perr := v.callerIdentity(ctx, cl)
		who := principal
		if perr != nil {
			who = "the job's principal (unknown: sts:GetCallerIdentity failed: " + innermost(perr) + ")"
		}
		r = fail(ReasonAccessDenied, "KMS in %s denied %s kms:Decrypt of the data key of %s (%s); grant kms:Decrypt on %s, or the data key is encrypted under a key this principal cannot use",
			region, who, rawURL, apiMessage(decryptErr), k.keyID)
		r.Principal = principal
	default:
		return errorResult(ReasonKMSError, "decrypting the data key of %s in %s: %v", rawURL, region, shortErr(decryptErr))
	}
	r.KeyARN, r.KeyState, r.DeletionDate = h.KeyARN, h.State, h.DeletionDate
	return r
}

// innermost is the text after the last ": " of err's text: the cause a
// chain of SDK wrappers ends with ("connection refused").
func innermost(err error) string {
	s := shortErr(err)
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

// shortErr is err's text, cut to a line.
func shortErr(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

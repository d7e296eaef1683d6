package secrets

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// verifyAWSKMS decrypts an awskms stack's data key with one KMS Decrypt,
// sent as gocloud's keeper sends it (no KeyId: the ciphertext names its
// key; the URL's encryption context), and zeroes the plaintext. On a
// failure it finds the cause: a DescribeKey of the URL's key for the key's
// state, and on a denial STS GetCallerIdentity for the principal.
func (v *Verifier) verifyAWSKMS(ctx context.Context, rawURL, encryptedKey string) Result {
	k, err := parseKMSURL(rawURL)
	if err != nil {
		return fail(ReasonBadURL, "pulumi cannot open %s: %v", rawURL, err)
	}
	blob, err := base64.StdEncoding.DecodeString(encryptedKey)
	if err != nil || len(blob) == 0 {
		return fail(ReasonInvalidCiphertext, "the encryptedkey of %s is not base64 pulumi can decode; restore it from state", rawURL)
	}
	cl, err := v.clients.get(ctx, k)
	switch {
	case errors.Is(err, ErrBadURL):
		return fail(ReasonBadURL, "pulumi cannot open %s: %v", rawURL, err)
	case err != nil:
		return fail(ReasonNoCredentials, "%s: %v", rawURL, err)
	case cl.cfg.Region == "":
		return fail(ReasonNoCredentials, "no AWS region for %s: set AWS_REGION or add ?region= to the secrets provider URL", rawURL)
	case cl.cfg.Credentials == nil:
		return fail(ReasonNoCredentials, "no AWS credentials for %s: set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", rawURL)
	}
	if _, err := cl.cfg.Credentials.Retrieve(ctx); err != nil {
		if ctx.Err() != nil {
			return errorResult(ReasonKMSError, "%s: %v", rawURL, ctx.Err())
		}
		return fail(ReasonNoCredentials, "no usable AWS credentials for %s: %v", rawURL, err)
	}
	out, err := cl.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: k.context})
	if err == nil {
		n := len(out.Plaintext)
		clear(out.Plaintext)
		keyARN := aws.ToString(out.KeyId)
		if n != keyBytes {
			// Pulumi's AES-256-GCM crypter refuses any other size.
			r := fail(ReasonInvalidCiphertext, "KMS key %s decrypted the encryptedkey of %s to %d bytes, not the 32-byte data key pulumi needs", keyARN, rawURL, n)
			r.KeyARN = keyARN
			return r
		}
		r := ok(ReasonDecrypted, "KMS key %s decrypted the data key of %s in %s", keyARN, rawURL, cl.cfg.Region)
		r.KeyARN = keyARN
		if otherKey(k.keyID, keyARN) {
			r.Warning = fmt.Sprintf("the data key is encrypted under %s, not under %s the URL names; pulumi decrypts it, but a new data key would use the URL's", keyARN, k.keyID)
		}
		return r
	}
	return v.diagnose(ctx, cl, k, rawURL, err)
}

// otherKey reports whether keyARN, the key that decrypted, is not the key
// id or key ARN the URL names. An alias cannot be compared without a
// request, so it never differs.
func otherKey(urlKey, keyARN string) bool {
	if keyARN == "" || strings.HasPrefix(urlKey, "alias/") || strings.Contains(urlKey, ":alias/") {
		return false
	}
	return urlKey != keyARN && !strings.HasSuffix(keyARN, ":key/"+urlKey)
}

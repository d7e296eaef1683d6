package secrets

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
)

// ErrBadURL wraps what makes an awskms URL one pulumi cannot open.
var ErrBadURL = errors.New("bad awskms secrets provider URL")

// AWSOptions configure the KMS and STS clients.
type AWSOptions struct {
	// HTTPClient sends the requests; nil takes the SDK's default. The CLI
	// passes the S3 store's, with its deadlines and lazily read CA bundle.
	HTTPClient aws.HTTPClient
	// STSTimeout bounds the GetCallerIdentity made after a denial, so a
	// network without an STS endpoint costs a bounded wait: 5 s when zero.
	STSTimeout time.Duration
}

// kmsURL is an awskms:// secrets provider URL taken apart as gocloud's
// awskms.URLOpener takes it apart.
type kmsURL struct {
	// keyID is the URL's host joined with its path, leading "/" removed:
	// a key id, "alias/name", a key ARN or an alias ARN.
	keyID string
	// context is the encryption context from the context_* parameters.
	context map[string]string
	// params are the other parameters, for the AWS configuration.
	params url.Values
	// clientKey identifies the AWS configuration the parameters give.
	clientKey string
}

// parseKMSURL parses raw as gocloud does: url.Parse, the key from host and
// path, each context_<k> parameter (exactly one value) into the encryption
// context, and the rest checked against the parameters
// gocloud.dev/aws.V2ConfigFromURLParams knows.
func parseKMSURL(raw string) (kmsURL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return kmsURL{}, fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	k := kmsURL{keyID: strings.TrimPrefix(path.Join(u.Host, u.Path), "/"), params: u.Query()}
	for name, vs := range k.params {
		c, ok := strings.CutPrefix(name, "context_")
		if !ok {
			continue
		}
		if len(vs) != 1 {
			return kmsURL{}, fmt.Errorf("%w: encryption context parameter %q must have exactly one value", ErrBadURL, name)
		}
		if k.context == nil {
			k.context = map[string]string{}
		}
		k.context[c] = vs[0]
		k.params.Del(name)
	}
	var names []string
	for name, vs := range k.params {
		if !knownParam(name) {
			return kmsURL{}, fmt.Errorf("%w: unknown query parameter %q", ErrBadURL, name)
		}
		if name != "awssdk" {
			names = append(names, name+"="+vs[0])
		}
	}
	sort.Strings(names)
	k.clientKey = strings.Join(names, "&")
	return k, nil
}

// knownParam reports whether gocloud's V2ConfigFromURLParams accepts name.
func knownParam(name string) bool {
	switch name {
	case "region", "endpoint", "profile", "role", "hostname_immutable", "dualstack", "fips",
		"rate_limiter_capacity", "anonymous", "request_checksum_calculation", "response_checksum_validation", "awssdk":
		return true
	}
	return false
}

// region returns the region an ARN key names, or "".
func (k kmsURL) arnRegion() string {
	// arn:partition:kms:region:account:key/id or …:alias/name
	if parts := strings.SplitN(k.keyID, ":", 6); len(parts) == 6 && parts[0] == "arn" {
		return parts[3]
	}
	return ""
}

// awsClients are the clients of one AWS configuration.
type awsClients struct {
	once sync.Once
	cfg  aws.Config
	kms  *kms.Client
	err  error
}

// clientCache holds one awsClients per distinct configuration.
type clientCache struct {
	opts AWSOptions
	mu   sync.Mutex
	m    map[string]*awsClients
}

// get returns the clients for k's parameters, loading the configuration
// once.
func (c *clientCache) get(ctx context.Context, k kmsURL) (*awsClients, error) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*awsClients{}
	}
	cl, found := c.m[k.clientKey]
	if !found {
		cl = &awsClients{}
		c.m[k.clientKey] = cl
	}
	c.mu.Unlock()
	cl.once.Do(func() { cl.cfg, cl.kms, cl.err = c.load(ctx, k.params) })
	return cl, cl.err
}

// load builds the AWS configuration from the URL's parameters as
// gocloud.dev/aws.V2ConfigFromURLParams does (the standard chain:
// AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_KMS, shared files…, overridden
// by region, profile, role, endpoint, dualstack, fips, anonymous and the
// checksum parameters), and the KMS client on it.
func (c *clientCache) load(ctx context.Context, q url.Values) (aws.Config, *kms.Client, error) {
	var (
		endpoint, roleARN string
		rateLimit         int64
		opts              []func(*config.LoadOptions) error
	)
	for param, vs := range q {
		v := vs[0]
		switch param {
		case "region":
			opts = append(opts, config.WithRegion(v))
		case "endpoint":
			endpoint = v
		case "profile":
			opts = append(opts, config.WithSharedConfigProfile(v))
		case "hostname_immutable":
			if _, err := strconv.ParseBool(v); err != nil {
				return aws.Config{}, nil, fmt.Errorf("%w: invalid value for hostname_immutable: %w", ErrBadURL, err)
			}
		case "dualstack", "fips", "anonymous":
			on, err := strconv.ParseBool(v)
			if err != nil {
				return aws.Config{}, nil, fmt.Errorf("%w: invalid value for %s: %w", ErrBadURL, param, err)
			}
			switch {
			case !on:
			case param == "dualstack":
				opts = append(opts, config.WithUseDualStackEndpoint(aws.DualStackEndpointStateEnabled))
			case param == "fips":
				opts = append(opts, config.WithUseFIPSEndpoint(aws.FIPSEndpointStateEnabled))
			default:
				opts = append(opts, config.WithCredentialsProvider(aws.AnonymousCredentials{}))
			}
		case "rate_limiter_capacity":
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				return aws.Config{}, nil, fmt.Errorf("%w: invalid value for capacity: %w", ErrBadURL, err)
			}
			rateLimit = n
		case "role":
			if !strings.HasPrefix(v, "arn:") {
				return aws.Config{}, nil, fmt.Errorf("%w: invalid value for role: must be a valid ARN (starts with 'arn:')", ErrBadURL)
			}
			roleARN = v
		case "request_checksum_calculation", "response_checksum_validation":
			switch strings.ToLower(v) {
			case "when_supported", "when_required":
			default:
				return aws.Config{}, nil, fmt.Errorf("%w: invalid value for %q: %q", ErrBadURL, param, v)
			}
		}
	}
	quiet := []func(*config.LoadOptions) error{config.WithLogger(logging.Nop{}), config.WithClientLogMode(0)}
	if c.opts.HTTPClient != nil {
		quiet = append(quiet, config.WithHTTPClient(c.opts.HTTPClient))
	}
	if roleARN != "" {
		// As gocloud: the other parameters only shape the configuration
		// that assumes the role; the role's keeps its region.
		base, err := config.LoadDefaultConfig(ctx, append(quiet, opts...)...)
		if err != nil {
			return aws.Config{}, nil, fmt.Errorf("loading the AWS configuration: %w", err)
		}
		if base.Region == "" {
			return aws.Config{}, nil, fmt.Errorf("%w: no region to assume role %s in: set AWS_REGION or add ?region= to the URL", ErrBadURL, roleARN)
		}
		opts = []func(*config.LoadOptions) error{
			config.WithCredentialsProvider(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), roleARN)),
			config.WithRegion(base.Region),
		}
	}
	limiter := retry.RateLimiter(ratelimit.None)
	if rateLimit > 0 {
		limiter = ratelimit.NewTokenRateLimit(uint(rateLimit))
	}
	opts = append(opts, config.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(so *retry.StandardOptions) { so.RateLimiter = limiter })
	}))
	cfg, err := config.LoadDefaultConfig(ctx, append(quiet, opts...)...)
	if err != nil {
		return aws.Config{}, nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	client := kms.NewFromConfig(cfg, func(o *kms.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.Logger = logging.Nop{}
	})
	return cfg, client, nil
}

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

// callerIdentity returns the ARN of the credentials' principal.
func (v *Verifier) callerIdentity(ctx context.Context, cl *awsClients) (string, error) {
	d := v.AWS.STSTimeout
	if d <= 0 {
		d = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	out, err := sts.NewFromConfig(cl.cfg, func(o *sts.Options) {
		o.Logger = logging.Nop{}
		o.RetryMaxAttempts = 1
	}).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Arn), nil
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

package secrets

import (
	"context"
	"fmt"
	"net/url"
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
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"
)

// AWSOptions configure the KMS and STS clients.
type AWSOptions struct {
	// HTTPClient sends the requests; nil takes the SDK's default. The CLI
	// passes the S3 store's, with its deadlines and lazily read CA bundle.
	HTTPClient aws.HTTPClient
	// STSTimeout bounds the GetCallerIdentity made after a denial, so a
	// network without an STS endpoint costs a bounded wait: 5 s when zero.
	STSTimeout time.Duration
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

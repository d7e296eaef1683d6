// Package s3store is the store.Store of an s3:// backend: an S3 bucket,
// read with GET, HEAD and LIST requests only, under deadlines and bounded
// retries, with errors that say what to do.
package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"

	"github.com/stacksync/stacksync/pkg/state/internal/transfer"
	"github.com/stacksync/stacksync/pkg/state/store"
)

// s3Store is a store.Store over an S3 bucket. Every request runs under the
// deadlines and the retry bounds of its Options.
type s3Store struct {
	client  *s3.Client
	bucket  string
	prefix  string
	opts    Options
	retryer aws.Retryer
	errs    s3Errors
}

// New opens the bucket opts names, configuring the client from opts and
// then the standard AWS chain (AWS_PROFILE, AWS_REGION,
// AWS_ENDPOINT_URL_S3, shared config files…). When no region is configured
// anywhere, it asks the bucket for its region. Missing or unusable
// credentials are an error wrapping store.ErrAccessDenied.
func New(ctx context.Context, o Options) (store.Store, error) {
	o = o.withDefaults()
	opts := []func(*config.LoadOptions) error{
		// The SDK's own log lines ("WARN Response has no supported
		// checksum") must never reach the user's terminal.
		config.WithLogger(logging.Nop{}),
		config.WithClientLogMode(0),
		config.WithHTTPClient(o.httpClient()),
		config.WithRetryer(o.retryer),
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	switch o.RequestChecksum {
	case "when_required":
		opts = append(opts, config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired))
	case "when_supported":
		opts = append(opts, config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenSupported))
	}
	switch o.ResponseChecksum {
	case "when_required":
		opts = append(opts, config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired))
	case "when_supported":
		opts = append(opts, config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenSupported))
	}
	name := o.URL
	if name == "" {
		name = "s3://" + o.Bucket + "/" + o.Prefix
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration for %s: %w", name, err)
	}
	if o.Anonymous {
		cfg.Credentials = aws.AnonymousCredentials{}
	} else {
		if p, ok := profileProcess(cfg); ok {
			if err := retrieveFromProcess(ctx, &cfg, p, o, name); err != nil {
				return nil, err
			}
		}
		if o.Role != "" {
			cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), o.Role))
		}
		if cfg.Credentials == nil {
			return nil, fmt.Errorf("%w: no AWS credentials for %s: set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add ?profile= to the backend URL", store.ErrAccessDenied, name)
		}
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			return nil, fmt.Errorf("%w: no usable AWS credentials for %s: set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add ?profile= to the backend URL (%v)", store.ErrAccessDenied, name, err)
		}
	}
	hc := o.s3Client(cfg.HTTPClient)
	newClient := func(region string, anonymous bool) *s3.Client {
		return s3.NewFromConfig(cfg, func(so *s3.Options) {
			so.HTTPClient = hc
			if region != "" {
				so.Region = region
			}
			if anonymous {
				so.Credentials = aws.AnonymousCredentials{}
			}
			if o.Endpoint != "" {
				so.BaseEndpoint = aws.String(o.Endpoint)
			}
			so.UsePathStyle = o.PathStyle
			so.UseAccelerate = o.Accelerate
			so.EndpointOptions.DisableHTTPS = o.DisableHTTPS
			if o.DualStack {
				so.EndpointOptions.UseDualStackEndpoint = aws.DualStackEndpointStateEnabled
			}
			if o.FIPS {
				so.EndpointOptions.UseFIPSEndpoint = aws.FIPSEndpointStateEnabled
			}
			so.DisableLogOutputChecksumValidationSkipped = true
			so.Logger = logging.Nop{}
		})
	}
	errs := s3Errors{bucket: "s3://" + o.Bucket, endpoint: o.Endpoint, region: cfg.Region, opts: o}
	region := cfg.Region
	if region == "" {
		// Unsigned, like the SDK's manager.GetBucketRegion: S3 names the
		// bucket's region even when it refuses an anonymous request, while
		// a request signed for the wrong region may get no answer at all.
		region, err = bucketRegion(ctx, newClient("us-east-1", true), o.Bucket, errs)
		if err != nil {
			return nil, err
		}
		errs.region = region
	}
	return &s3Store{
		client:  newClient(region, false),
		bucket:  o.Bucket,
		prefix:  o.Prefix,
		opts:    o,
		retryer: o.retryer(),
		errs:    errs,
	}, nil
}

// bucketRegion asks S3 where a bucket lives: the x-amz-bucket-region header
// of a HeadBucket answer, which S3 sends even with a redirect or a refusal.
func bucketRegion(ctx context.Context, c *s3.Client, bucket string, errs s3Errors) (string, error) {
	out, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		if out.BucketRegion != nil && *out.BucketRegion != "" {
			return *out.BucketRegion, nil
		}
		return "us-east-1", nil
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		if r := re.Response.Header.Get("X-Amz-Bucket-Region"); r != "" {
			return r, nil
		}
	}
	return "", fmt.Errorf("finding the region of bucket %s: %w; set AWS_REGION or add ?region= to the backend URL", bucket, errs.wrap(ctx, err))
}

// Location implements store.Store.
func (s *s3Store) Location(key string) string {
	return "s3://" + s.bucket + "/" + s.prefix + key
}

// List implements store.Store. It follows the listing's continuation
// tokens to its end, and fails on a page that repeats a token already
// seen (a listing that would never end) or that says the listing goes on
// with no token to ask for the rest (a listing that would end early).
func (s *s3Store) List(ctx context.Context, prefix string, recursive bool, fn func(store.Object) error) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(s.prefix + prefix)}
	if !recursive {
		in.Delimiter = aws.String("/")
	}
	seen := map[string]bool{}
	for page := 1; ; page++ {
		out, err := s.client.ListObjectsV2(ctx, in)
		if err != nil {
			return fmt.Errorf("listing %s: %w", s.Location(prefix), s.errs.wrap(ctx, err))
		}
		for _, o := range out.Contents {
			obj := store.Object{Key: strings.TrimPrefix(aws.ToString(o.Key), s.prefix), Size: aws.ToInt64(o.Size)}
			if o.LastModified != nil {
				obj.ModTime = *o.LastModified
			}
			if err := fn(obj); err != nil {
				return err
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			return nil
		}
		next := aws.ToString(out.NextContinuationToken)
		switch {
		case next == "":
			return fmt.Errorf("listing %s: page %d says more keys follow (IsTruncated) but gives no continuation token; the S3 endpoint %s answers listings wrongly", s.Location(prefix), page, s.errs.endpointName(nil))
		case seen[next]:
			return fmt.Errorf("listing %s: page %d repeats the continuation token of an earlier page, so the listing would never end; the S3 endpoint %s answers listings wrongly", s.Location(prefix), page, s.errs.endpointName(nil))
		}
		seen[next] = true
		in.ContinuationToken = aws.String(next)
	}
}

// Stat implements store.Store with one HEAD request.
func (s *s3Store) Stat(ctx context.Context, key string) (store.Object, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key)})
	if err != nil {
		var re *awshttp.ResponseError
		if ctx.Err() == nil && errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound {
			// A HEAD answer has no body to tell a missing key from a
			// missing bucket; the bucket is checked by every listing.
			return store.Object{}, fmt.Errorf("looking up %s: %w", s.Location(key), store.ErrNotFound)
		}
		return store.Object{}, fmt.Errorf("looking up %s: %w", s.Location(key), s.errs.wrap(ctx, err))
	}
	obj := store.Object{Key: key, Size: aws.ToInt64(out.ContentLength)}
	if out.LastModified != nil {
		obj.ModTime = *out.LastModified
	}
	return obj, nil
}

// ReadRange implements store.Store. It sends one GET: with no Range header for
// the whole object (off 0, n < 0), "bytes=off-" to read from off to the end,
// and "bytes=off-(off+n-1)" for n bytes. The reader it returns resumes a
// transfer that breaks (connection reset, truncated body, no data for
// IdleBodyTimeout) with a ranged GET from the offset reached, conditional on
// the first response's ETag, fetching the body at most MaxAttempts times.
func (s *s3Store) ReadRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if n == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	in := &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key)}
	if r := transfer.RangeHeader(off, n); r != "" {
		in.Range = aws.String(r)
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		var re *awshttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusRequestedRangeNotSatisfiable {
			return io.NopCloser(strings.NewReader("")), nil // empty object, or off at its end
		}
		return nil, fmt.Errorf("reading %s: %w", s.Location(key), s.errs.wrap(ctx, err))
	}
	return s.newBody(ctx, key, off, n, out), nil
}

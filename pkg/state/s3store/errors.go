package s3store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/stacksync/stacksync/pkg/state/internal/transfer"
	"github.com/stacksync/stacksync/pkg/state/store"
)

// s3Errors turns the AWS SDK's errors into short messages that say what to
// do, wrapping the sentinels callers branch on.
type s3Errors struct {
	bucket   string // "s3://bucket", for messages
	endpoint string // the URL's endpoint, or "" for AWS
	region   string // the region requests are signed for, or ""
	opts     Options
}

// expectingRegion finds the region a server names in an
// AuthorizationHeaderMalformed message: AWS says "expecting 'eu-west-1'",
// versitygw `expecting "eu-west-1"`.
var expectingRegion = regexp.MustCompile(`expecting ['"]([a-z0-9-]+)['"]`)

// wrap maps err, returned by an S3 call made with ctx.
func (m s3Errors) wrap(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		// The caller's deadline or cancellation, not the server's fault:
		// the SDK's "StatusCode: 0 … context canceled" says nothing more.
		return ctx.Err()
	}
	if e := m.bounds(err); e != nil {
		return e
	}
	var ae smithy.APIError
	code, msg := "", ""
	if errors.As(err, &ae) {
		code, msg = ae.ErrorCode(), ae.ErrorMessage()
	}
	var re *awshttp.ResponseError
	status := 0
	var header http.Header
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
		if re.Response != nil {
			header = re.Response.Header
		}
	}
	if status == 0 {
		return m.transport(err)
	}
	short := func(sentinel error, format string, args ...any) error {
		return &transfer.Error{Msg: fmt.Sprintf(format, args...), Sentinel: sentinel, Cause: err}
	}
	switch {
	case code == "XAdminUserNotFound" || code == "InvalidAccessKeyId":
		// versitygw answers an unknown key id with a 404.
		return short(store.ErrAccessDenied, "%v (%s) on %s: the server knows no such access key id; check AWS_ACCESS_KEY_ID, AWS_PROFILE or ?profile= in the backend URL", store.ErrAccessDenied, code, m.bucket)
	case code == "ExpiredToken" || code == "ExpiredTokenException" || code == "TokenRefreshRequired":
		return short(store.ErrAccessDenied, "%v (%s) on %s: the session token of the AWS credentials has expired; get fresh credentials (a new AWS_SESSION_TOKEN, or aws sso login for an SSO profile) and run again", store.ErrAccessDenied, code, m.bucket)
	case code == "SignatureDoesNotMatch":
		return short(store.ErrAccessDenied, "%v (%s) on %s: the secret access key does not match the access key id; check AWS_SECRET_ACCESS_KEY, AWS_PROFILE or ?profile= in the backend URL", store.ErrAccessDenied, code, m.bucket)
	case code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect" || code == "IllegalLocationConstraintException" || status == http.StatusMovedPermanently:
		return short(nil, "%s", m.wrongRegion(header, msg))
	case code == "NoSuchBucket" || code == "NotFound": // NotFound: HeadBucket's 404
		return short(store.ErrNotFound, "%v: bucket %s does not exist; check the backend URL", store.ErrNotFound, m.bucket)
	case code == "NoSuchKey" || (status == http.StatusNotFound && code != ""):
		return short(store.ErrNotFound, "%v: %s", store.ErrNotFound, code)
	case status == http.StatusNotFound:
		return short(store.ErrNotFound, "%v: bucket %s does not exist or is not reachable; check the backend URL", store.ErrNotFound, m.bucket)
	case code == "AccessDenied" || status == http.StatusForbidden:
		if code == "" {
			code = "AccessDenied"
		}
		return short(store.ErrAccessDenied, "%v (%s) on %s: check the AWS credentials and the bucket policy", store.ErrAccessDenied, code, m.bucket)
	case status == http.StatusTooManyRequests:
		if code == "" {
			code = "Too Many Requests"
		}
		return short(nil, "S3 endpoint %s answered 429 %s for %s%s; the server limits the rate of requests: make fewer at once, or try again later", m.endpointName(err), code, m.bucket, m.attempts(err))
	case status >= 500:
		return short(nil, "S3 endpoint %s answered %d %s for %s%s; the service is failing or throttling, try again later", m.endpointName(err), status, code, m.bucket, m.attempts(err))
	}
	return err
}

// wrongRegion says which region to set.
func (m s3Errors) wrongRegion(header http.Header, msg string) string {
	want := header.Get("X-Amz-Bucket-Region")
	if sm := expectingRegion.FindStringSubmatch(msg); want == "" && sm != nil {
		want = sm[1]
	}
	signed := m.region
	if signed == "" {
		signed = "the configured region"
	}
	if want == "" {
		return fmt.Sprintf("bucket %s is not in %s: set AWS_REGION or add ?region= to the backend URL", m.bucket, signed)
	}
	return fmt.Sprintf("bucket %s is in region %s, not %s: set AWS_REGION=%s or add ?region=%s to the backend URL", m.bucket, want, signed, want, want)
}

// bounds maps a request that broke one of the bounds of Options (a body
// gone idle or too slow, too many redirects), whether or not a response
// came; it returns nil for any other error.
func (m s3Errors) bounds(err error) error {
	ep := m.endpointName(err)
	var idle *awshttp.ResponseTimeoutError
	var slow *slowBodyError
	var rd *redirectError
	switch {
	case errors.As(err, &idle):
		return &transfer.Error{Msg: fmt.Sprintf("S3 endpoint %s for %s stopped sending data for %s%s; check the endpoint and that the server is up", ep, m.bucket, idle.TimeoutDur, m.attempts(err))}
	case errors.As(err, &slow):
		return &transfer.Error{Msg: fmt.Sprintf("S3 endpoint %s for %s sent a response body too slowly: %v%s; check the network and the endpoint", ep, m.bucket, slow, m.attempts(err))}
	case errors.As(err, &rd):
		return &transfer.Error{Msg: fmt.Sprintf("S3 endpoint %s for %s redirected too often: %v; check the endpoint", ep, m.bucket, rd)}
	}
	return nil
}

// transport maps an error that came with no HTTP response.
func (m s3Errors) transport(err error) error {
	ep := m.endpointName(err)
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return &transfer.Error{Msg: fmt.Sprintf("cannot reach S3 endpoint %s for %s: %v; check the endpoint and that the server is up", ep, m.bucket, op), Cause: err}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &transfer.Error{Msg: fmt.Sprintf("S3 endpoint %s for %s did not answer within %s%s; check the endpoint and that the server is up", ep, m.bucket, m.opts.ResponseHeaderTimeout, m.attempts(err))}
	}
	if op != nil {
		return &transfer.Error{Msg: fmt.Sprintf("connection to S3 endpoint %s for %s failed: %v%s; check the endpoint and that the server is up", ep, m.bucket, op, m.attempts(err)), Cause: err}
	}
	return err
}

// attempts says how many attempts an error took, or "".
func (m s3Errors) attempts(err error) string {
	var me *retry.MaxAttemptsError
	if errors.As(err, &me) {
		return fmt.Sprintf(" (%d attempts)", me.Attempt)
	}
	return ""
}

// endpointName names the endpoint a failed request went to: the scheme and
// host of its URL, else the backend URL's endpoint, else "of AWS".
func (m s3Errors) endpointName(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			return u.Scheme + "://" + u.Host
		}
	}
	if m.endpoint != "" {
		return m.endpoint
	}
	if m.region != "" {
		return "of AWS in " + m.region
	}
	return "of AWS"
}

package s3store

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/stacksync/stacksync/pkg/state/internal/transfer"
)

// Defaults of the deadlines and retry bounds of Options, chosen for an
// unattended CI job: a healthy S3 endpoint answers a GET or a listing in
// tens of milliseconds, so each deadline is two orders of magnitude above
// that, and a hung or black-holed endpoint fails the job in about half a
// minute instead of stalling it until the runner's own timeout.
const (
	// DefaultConnectTimeout bounds opening a TCP connection to the
	// endpoint: 10 s, room for two SYN retransmissions (at 1 s and 3 s)
	// on a lossy network.
	DefaultConnectTimeout = transfer.DefaultConnectTimeout
	// DefaultTLSHandshakeTimeout bounds the TLS handshake: 10 s, as Go's
	// and the AWS SDK's own default transports do.
	DefaultTLSHandshakeTimeout = transfer.DefaultTLSHandshakeTimeout
	// DefaultResponseHeaderTimeout bounds the wait for the response
	// headers once the request is sent, 10 s: what a server that accepts
	// the connection and never answers runs into.
	DefaultResponseHeaderTimeout = transfer.DefaultResponseHeaderTimeout
	// DefaultIdleBodyTimeout aborts a read of a response body that makes
	// no progress for 20 s. It resets on every byte received, so a slow
	// but moving transfer of a large checkpoint never trips it.
	DefaultIdleBodyTimeout = transfer.DefaultIdleBodyTimeout
	// DefaultMaxAttempts is the number of attempts of one request, 3 (the
	// AWS SDK standard retryer's default), and also the number of times
	// one object body is fetched when its transfer breaks.
	DefaultMaxAttempts = transfer.DefaultMaxAttempts
	// DefaultMaxBackoff caps the delay between two attempts: 5 s. With three
	// attempts the standard retryer's jittered backoff stays below it
	// anyway (at most 50 ms then 100 ms after a 5xx or a connection error,
	// 1 s then 2 s after throttling); the cap keeps a larger MaxAttempts
	// bounded too.
	DefaultMaxBackoff = transfer.DefaultMaxBackoff
	// DefaultMaxRedirects is the number of redirects one request follows
	// (307 and 308, the only ones the AWS SDK follows, which keep the
	// method), as net/http's default client allows.
	DefaultMaxRedirects = 10
	// DefaultMinBodyRate is the least rate, in bytes a second, at which a
	// response body must arrive: 1 KiB/s, far below any working link. A
	// body is measured over each IdleBodyTimeout spent waiting for it.
	DefaultMinBodyRate = 1024
	// DefaultCredentialProcessTimeout bounds a profile's
	// credential_process, as the AWS SDK's own default does: room for a
	// prompt for a one-time code.
	DefaultCredentialProcessTimeout = time.Minute
)

// Options configure a store: the bucket and the client settings an s3://
// backend URL carries (after Pulumi's rewrites of its legacy parameters),
// then the deadlines, retry bounds and CA bundle of its client. Beyond the
// URL's settings, the client takes the standard AWS chain (AWS_PROFILE,
// AWS_REGION, AWS_ENDPOINT_URL_S3, shared config files…). A zero deadline
// or bound takes its Default constant.
//
// With the defaults, an endpoint that accepts connections and never answers
// fails a request after MaxAttempts × ResponseHeaderTimeout plus the
// backoffs: 30 s to 30.15 s. A body that stops sending mid-transfer fails
// after MaxAttempts × IdleBodyTimeout (60 s) of silence in all, as each
// fetch of the rest waits IdleBodyTimeout; so does a body that trickles
// (below MinBodyRate, 1 KiB/s, over each IdleBodyTimeout of waiting): a
// byte a second fails after about 60 s. A redirect loop fails after
// MaxRedirects hops, at once; a listing whose continuation token repeats,
// or that says it goes on and gives no token, fails at that page. A
// profile's credential_process is killed, with every process it started,
// after CredentialProcessTimeout (1 min).
type Options struct {
	// URL is the backend URL the options come from, which messages about
	// the AWS configuration and credentials name; "" names
	// s3://<Bucket>/<Prefix>.
	URL string
	// Bucket is the bucket holding the backend.
	Bucket string
	// Prefix is put in front of every key: the mux's prefix= parameter
	// followed by the URL path, as gocloud and Pulumi compute it. It is ""
	// or ends in "/" (unless prefix= itself does not).
	Prefix string

	Region       string
	Endpoint     string // with scheme, as the SDK's BaseEndpoint
	Profile      string
	Role         string
	PathStyle    bool
	Accelerate   bool
	DualStack    bool
	FIPS         bool
	Anonymous    bool
	DisableHTTPS bool
	// RequestChecksum and ResponseChecksum are "when_supported",
	// "when_required" or "".
	RequestChecksum  string
	ResponseChecksum string

	// ConnectTimeout bounds dialing the endpoint.
	ConnectTimeout time.Duration
	// TLSHandshakeTimeout bounds the TLS handshake.
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for response headers after the
	// request has been written.
	ResponseHeaderTimeout time.Duration
	// IdleBodyTimeout aborts a body read that makes no progress for this
	// long (the connection's read inactivity window).
	IdleBodyTimeout time.Duration
	// MinBodyRate is the least rate, in bytes a second, at which every
	// response body (of an object or of a listing) must arrive: one that
	// brings fewer than MinBodyRate × IdleBodyTimeout bytes in an
	// IdleBodyTimeout spent waiting for it (time the caller spends between
	// reads does not count) is broken off, and fetched again as a body
	// that goes idle is.
	MinBodyRate int64
	// MaxRedirects bounds the redirects one request follows.
	MaxRedirects int
	// CredentialProcessTimeout bounds a run of the profile's
	// credential_process; past it the process and every process it
	// started are killed.
	CredentialProcessTimeout time.Duration
	// MaxAttempts bounds the attempts of one request under the AWS SDK's
	// standard retryer (throttling, 5xx and connection errors are retried
	// with jittered exponential backoff), and the fetches of one object
	// body that breaks mid-transfer (each resumes, with a ranged GET
	// conditional on the first ETag, from the offset reached).
	MaxAttempts int
	// MaxBackoff caps the delay between two attempts.
	MaxBackoff time.Duration
	// CABundle is the path of a PEM file of the certificate authorities
	// to trust instead of the system's, as AWS_CA_BUNDLE names one. It is
	// read and parsed at the first TLS handshake, so a plain-HTTP endpoint
	// never pays for it. (The SDK parses AWS_CA_BUNDLE from the
	// environment itself, eagerly: some 12 ms for a system bundle.)
	CABundle string
}

// withDefaults fills the zero fields with their defaults.
func (o Options) withDefaults() Options {
	transfer.Bounds{
		ConnectTimeout: &o.ConnectTimeout, TLSHandshakeTimeout: &o.TLSHandshakeTimeout,
		ResponseHeaderTimeout: &o.ResponseHeaderTimeout, IdleBodyTimeout: &o.IdleBodyTimeout,
		MaxAttempts: &o.MaxAttempts, MaxBackoff: &o.MaxBackoff,
	}.Fill()
	transfer.Default(&o.CredentialProcessTimeout, DefaultCredentialProcessTimeout)
	transfer.Default(&o.MaxRedirects, DefaultMaxRedirects)
	transfer.Default(&o.MinBodyRate, DefaultMinBodyRate)
	return o
}

// hangBound is the longest one request to an endpoint that accepts the
// connection and never answers can take before it fails: every attempt
// waits ResponseHeaderTimeout, and the standard retryer waits at most
// 50 ms × 2^(i-1) before retry i of a connection error.
func (o Options) hangBound() time.Duration {
	o = o.withDefaults()
	d := time.Duration(o.MaxAttempts) * o.ResponseHeaderTimeout
	for i := 1; i < o.MaxAttempts; i++ {
		d += min(50*time.Millisecond<<(i-1), o.MaxBackoff)
	}
	return d
}

// HTTPClient returns an SDK HTTP client with the options' deadlines (zero
// fields take their defaults) and CA bundle, read at the first TLS
// handshake, for a job's other AWS clients, such as KMS and STS.
func (o Options) HTTPClient() aws.HTTPClient { return o.withDefaults().httpClient() }

// httpClient returns the SDK HTTP client that enforces the deadlines.
func (o Options) httpClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) {
			d.Timeout = o.ConnectTimeout
		}).
		WithTransportOptions(func(t *http.Transport) {
			t.TLSHandshakeTimeout = o.TLSHandshakeTimeout
			t.ResponseHeaderTimeout = o.ResponseHeaderTimeout
			if o.CABundle != "" {
				t.TLSClientConfig = (&lazyRoots{path: o.CABundle}).tlsConfig()
			}
		}).
		WithReadTimeout(o.IdleBodyTimeout)
}

// retryer returns the AWS SDK standard retryer bounded by the options.
func (o Options) retryer() aws.Retryer {
	return retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = o.MaxAttempts
		so.MaxBackoff = o.MaxBackoff
		// A redirect loop answers the same way every time.
		so.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			var rd *redirectError
			if errors.As(err, &rd) {
				return aws.FalseTernary
			}
			return aws.UnknownTernary
		})}, so.Retryables...)
	})
}

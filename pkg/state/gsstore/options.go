package gsstore

import (
	"net"
	"net/http"
	"time"

	"github.com/stacksync/stacksync/pkg/state/internal/transfer"
)

// DefaultUniverseDomain is the domain of Google's public cloud: requests go
// to https://storage.googleapis.com/storage/v1/.
const DefaultUniverseDomain = "googleapis.com"

// Options configure a store: the bucket and the settings a gs:// backend
// URL carries, then the deadlines and retry bounds of its client. Beyond
// the URL's settings, New reads the environment as Pulumi does: the
// credentials from GOOGLE_CREDENTIALS, GOOGLE_OAUTH_ACCESS_TOKEN, then the
// application default credentials, and STORAGE_EMULATOR_HOST.
//
// A zero deadline or bound takes its default, that of the s3:// store:
// 10 s to connect, 10 s for the TLS handshake, 10 s for the response
// headers, 20 s of silence in a body, 3 attempts per request with
// backoffs capped at 5 s. A healthy Cloud Storage endpoint answers in tens
// of milliseconds, so each deadline is two orders of magnitude above that.
//
// With the defaults, an endpoint that accepts connections and never answers
// fails a request after MaxAttempts × ResponseHeaderTimeout plus the
// backoffs (30 s to 30.3 s), and a body that stops mid-transfer after
// MaxAttempts × IdleBodyTimeout (60 s) of silence in all, as each fetch of
// the rest waits IdleBodyTimeout.
type Options struct {
	// URL is the backend URL the options come from, which messages name;
	// "" names gs://<Bucket>/<Prefix>.
	URL string
	// Bucket is the bucket holding the backend.
	Bucket string
	// Prefix is put in front of every key: the prefix= parameter followed
	// by the URL path, as gocloud and Pulumi compute it. It is "" or ends
	// in "/" (unless prefix= itself does not).
	Prefix string
	// Anonymous sends requests without credentials: the URL's
	// anonymous=true or access_id=-.
	Anonymous bool
	// UniverseDomain is the URL's universe_domain: requests go to
	// https://storage.<UniverseDomain>/storage/v1/. "" means
	// DefaultUniverseDomain.
	UniverseDomain string

	// ConnectTimeout bounds dialing the endpoint.
	ConnectTimeout time.Duration
	// TLSHandshakeTimeout bounds the TLS handshake.
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for response headers after the
	// request has been written.
	ResponseHeaderTimeout time.Duration
	// IdleBodyTimeout aborts a body read that makes no progress for this
	// long.
	IdleBodyTimeout time.Duration
	// MaxAttempts bounds the attempts of one request (throttling (429),
	// server errors (5xx) and connection errors are retried with jittered
	// exponential backoff), and the fetches of one object body that
	// breaks mid-transfer (each resumes, with a ranged GET conditional on
	// the first response's generation, from the offset reached).
	MaxAttempts int
	// MaxBackoff caps the delay between two attempts.
	MaxBackoff time.Duration
}

// withDefaults fills the zero fields with their defaults.
func (o Options) withDefaults() Options {
	transfer.Bounds{
		ConnectTimeout: &o.ConnectTimeout, TLSHandshakeTimeout: &o.TLSHandshakeTimeout,
		ResponseHeaderTimeout: &o.ResponseHeaderTimeout, IdleBodyTimeout: &o.IdleBodyTimeout,
		MaxAttempts: &o.MaxAttempts, MaxBackoff: &o.MaxBackoff,
	}.Fill()
	if o.UniverseDomain == "" {
		o.UniverseDomain = DefaultUniverseDomain
	}
	return o
}

// name is the backend URL for messages.
func (o Options) name() string {
	if o.URL != "" {
		return o.URL
	}
	return "gs://" + o.Bucket + "/" + o.Prefix
}

// httpClient returns a client whose transport enforces the connect, TLS
// and response header deadlines; body reads are bounded by the store.
func (o Options) httpClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = o.TLSHandshakeTimeout
	t.ResponseHeaderTimeout = o.ResponseHeaderTimeout
	t.Proxy = http.ProxyFromEnvironment
	return &http.Client{
		Transport: t,
		// The JSON API never redirects a read; a redirect is a wrong
		// endpoint, reported as its status.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

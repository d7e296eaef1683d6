package transfer

import "time"

// Defaults of the deadlines and retry bounds of a store's Options, chosen
// for an unattended CI job: a healthy endpoint answers a GET or a listing
// in tens of milliseconds, so each deadline is two orders of magnitude
// above that, and a hung or black-holed endpoint fails the job in about
// half a minute instead of stalling it until the runner's own timeout.
const (
	// DefaultConnectTimeout bounds opening a TCP connection to the
	// endpoint. It leaves room for two SYN retransmissions (at 1 s and
	// 3 s) on a lossy network.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultTLSHandshakeTimeout bounds the TLS handshake, as Go's own
	// default transport does.
	DefaultTLSHandshakeTimeout = 10 * time.Second
	// DefaultResponseHeaderTimeout bounds the wait for the response
	// headers once the request is sent: what a server that accepts the
	// connection and never answers runs into.
	DefaultResponseHeaderTimeout = 10 * time.Second
	// DefaultIdleBodyTimeout aborts a read of a response body that makes
	// no progress for this long. It resets on every byte received, so a
	// slow but moving transfer of a large checkpoint never trips it.
	DefaultIdleBodyTimeout = 20 * time.Second
	// DefaultMaxAttempts is the number of attempts of one request, and
	// also the number of times one object body is fetched when its
	// transfer breaks.
	DefaultMaxAttempts = 3
	// DefaultMaxBackoff caps the delay between two attempts.
	DefaultMaxBackoff = 5 * time.Second
)

// Bounds points at the deadline and retry fields of a store's Options, so
// that Fill can set them in place.
type Bounds struct {
	ConnectTimeout        *time.Duration
	TLSHandshakeTimeout   *time.Duration
	ResponseHeaderTimeout *time.Duration
	IdleBodyTimeout       *time.Duration
	MaxAttempts           *int
	MaxBackoff            *time.Duration
}

// Fill sets each bound that is zero or negative to its Default constant.
func (b Bounds) Fill() {
	Default(b.ConnectTimeout, DefaultConnectTimeout)
	Default(b.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout)
	Default(b.ResponseHeaderTimeout, DefaultResponseHeaderTimeout)
	Default(b.IdleBodyTimeout, DefaultIdleBodyTimeout)
	Default(b.MaxAttempts, DefaultMaxAttempts)
	Default(b.MaxBackoff, DefaultMaxBackoff)
}

// Default sets *v to def when it is zero or negative: an unset bound.
func Default[T ~int | ~int64](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

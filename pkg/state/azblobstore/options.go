package azblobstore

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stacksync/stacksync/pkg/state/internal/transfer"
)

// defaultRetryDelay is the first delay between two attempts, azcore's
// own. The other bounds default as every network store's do (package
// transfer): two orders of magnitude above a healthy answer, so that a
// hung endpoint fails an unattended job in about half a minute.
const defaultRetryDelay = 800 * time.Millisecond

// Options configure a store: the container and the service settings an
// azblob:// backend URL carries, then the deadlines and retry bounds of its
// client. The settings the URL leaves unset come from the environment as
// gocloud's azureblob driver (which pulumi uses) reads it:
// AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_DOMAIN, AZURE_STORAGE_PROTOCOL,
// AZURE_STORAGE_IS_CDN and AZURE_STORAGE_IS_LOCAL_EMULATOR. The credential
// is the first of: the account key (AZURE_STORAGE_ACCOUNT with
// AZURE_STORAGE_KEY), a SAS token (AZURE_STORAGE_SAS_TOKEN), a connection
// string (AZURE_STORAGE_CONNECTION_STRING, else
// AZURE_STORAGEBLOB_CONNECTIONSTRING), then the default Azure credential
// chain of azidentity.
//
// A zero deadline or bound takes its default: 10 s to connect, 10 s for
// the TLS handshake, 10 s for the response headers, 20 s of silence in a
// body, 3 attempts per request with backoffs capped at 5 s. An endpoint
// that accepts connections and never answers fails a request after
// 32.6 s to 34.2 s: three waits for the headers, and azcore's jittered
// backoffs of about 0.8 s then 2.4 s between them.
type Options struct {
	// URL is the backend URL the options come from, for messages; ""
	// names azblob://<Container>/<Prefix>.
	URL string
	// Container is the container holding the backend.
	Container string
	// Prefix is put in front of every key: the mux's prefix= parameter
	// followed by the URL path, as gocloud and pulumi compute it.
	Prefix string

	// Account is the URL's storage_account= (else AZURE_STORAGE_ACCOUNT,
	// else the connection string's AccountName).
	Account string
	// Domain is the URL's domain= (else AZURE_STORAGE_DOMAIN, else
	// blob.core.windows.net). A domain starting with 127.0.0.1 or
	// localhost is addressed path-style, as an emulator.
	Domain string
	// Protocol is the URL's protocol=, "http" or "https" (else
	// AZURE_STORAGE_PROTOCOL, else the connection string's
	// DefaultEndpointsProtocol, else https).
	Protocol string
	// CDN is the URL's cdn= (nil: AZURE_STORAGE_IS_CDN): the domain
	// serves the account alone, with no account name in the host.
	CDN *bool
	// LocalEmulator is the URL's localemu= (nil:
	// AZURE_STORAGE_IS_LOCAL_EMULATOR): address the account path-style.
	LocalEmulator *bool

	// ConnectTimeout bounds dialing the endpoint.
	ConnectTimeout time.Duration
	// TLSHandshakeTimeout bounds the TLS handshake.
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for response headers after the
	// request has been written.
	ResponseHeaderTimeout time.Duration
	// IdleBodyTimeout aborts a read that makes no progress for this long.
	IdleBodyTimeout time.Duration
	// MaxAttempts bounds the attempts of one request (throttling, 5xx and
	// connection errors are retried with jittered exponential backoff),
	// and the fetches of one blob body that breaks mid-transfer (each
	// resumes from the offset reached, conditional on the first ETag).
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
	return o
}

// name is the backend URL for messages.
func (o Options) name() string {
	if o.URL != "" {
		return o.URL
	}
	return "azblob://" + o.Container + "/" + o.Prefix
}

// credKind is how requests to the account are authorised.
type credKind int

const (
	credDefault          credKind = iota // azidentity's default chain
	credSharedKey                        // AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY
	credSAS                              // AZURE_STORAGE_SAS_TOKEN
	credConnectionString                 // AZURE_STORAGE_CONNECTION_STRING
)

// settings are the options resolved against the environment.
type settings struct {
	cred credKind
	// serviceURL is the account's endpoint with no SAS:
	// "<protocol>://<account>.<domain>", or path-style for an emulator.
	serviceURL string
	// sas is the SAS token, added to serviceURL's query for credSAS.
	sas string
	// keyAccount and key sign requests for credSharedKey.
	keyAccount, key string
	// connString and connVar (the variable it came from) for
	// credConnectionString.
	connString, connVar string
}

// hint names what to fix when the service refuses the credential.
func (s settings) hint() string {
	switch s.cred {
	case credSharedKey:
		return "check AZURE_STORAGE_KEY and AZURE_STORAGE_ACCOUNT"
	case credSAS:
		return "check AZURE_STORAGE_SAS_TOKEN (its expiry and its read and list permissions)"
	case credConnectionString:
		return "check " + s.connVar
	}
	return "check the credentials of the default Azure credential chain (az login, AZURE_CLIENT_ID…) and their role on the container, or set AZURE_STORAGE_KEY"
}

// errNoAccount is the error of a backend with no storage account anywhere.
var errNoAccount = errors.New("no storage account")

// resolve reads the environment and settles the endpoint and credential as
// gocloud's azureblob driver does when pulumi opens the URL.
func (o Options) resolve(env func(string) string) (settings, error) {
	envBool := func(name string) bool {
		b, _ := strconv.ParseBool(env(name)) // gocloud ignores a bad value
		return b
	}
	envAccount := env("AZURE_STORAGE_ACCOUNT")
	account, protocol := envAccount, env("AZURE_STORAGE_PROTOCOL")
	domain := env("AZURE_STORAGE_DOMAIN")
	cdn, emulator := envBool("AZURE_STORAGE_IS_CDN"), envBool("AZURE_STORAGE_IS_LOCAL_EMULATOR")
	connVar := "AZURE_STORAGE_CONNECTION_STRING"
	conn := env(connVar)
	if conn == "" {
		connVar = "AZURE_STORAGEBLOB_CONNECTIONSTRING"
		conn = env(connVar)
	}
	if conn != "" {
		// The connection string's account and protocol are defaults.
		for part := range strings.SplitSeq(conn, ";") {
			kv := strings.Split(part, "=")
			if len(kv) != 2 {
				continue
			}
			if account == "" && kv[0] == "AccountName" {
				account = kv[1]
			} else if protocol == "" && kv[0] == "DefaultEndpointsProtocol" {
				protocol = kv[1]
			}
		}
	}
	if o.Account != "" {
		account = o.Account
	}
	if o.Domain != "" {
		domain = o.Domain
	}
	if o.Protocol != "" {
		protocol = o.Protocol
	}
	if o.CDN != nil {
		cdn = *o.CDN
	}
	if o.LocalEmulator != nil {
		emulator = *o.LocalEmulator
	}

	var s settings
	key, sas := env("AZURE_STORAGE_KEY"), env("AZURE_STORAGE_SAS_TOKEN")
	switch {
	case envAccount != "" && key != "":
		s.cred, s.keyAccount, s.key = credSharedKey, envAccount, key
	case sas != "":
		s.cred, s.sas = credSAS, strings.TrimPrefix(sas, "?")
	case conn != "":
		s.cred, s.connString, s.connVar = credConnectionString, conn, connVar
	}

	if account == "" {
		return s, fmt.Errorf("%w for %s: set AZURE_STORAGE_ACCOUNT or add ?storage_account= to the backend URL", errNoAccount, o.name())
	}
	if domain == "" {
		domain = "blob.core.windows.net"
	}
	switch protocol {
	case "":
		protocol = "https"
	case "http", "https":
	default:
		return s, fmt.Errorf("protocol %q for %s: want http or https in AZURE_STORAGE_PROTOCOL or ?protocol=", protocol, o.name())
	}
	switch {
	case strings.HasPrefix(domain, "127.0.0.1") || strings.HasPrefix(domain, "localhost") || emulator:
		s.serviceURL = protocol + "://" + domain + "/" + account
	case cdn:
		s.serviceURL = protocol + "://" + domain
	default:
		s.serviceURL = protocol + "://" + account + "." + domain
	}
	if _, err := url.Parse(s.serviceURL); err != nil {
		return s, fmt.Errorf("the endpoint of %s is not a URL: check the domain and the account name", o.name())
	}
	return s, nil
}

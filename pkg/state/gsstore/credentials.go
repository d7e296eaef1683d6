package gsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/stacksync/stacksync/pkg/state/internal/transfer"
	"github.com/stacksync/stacksync/pkg/state/store"
)

// readOnlyScope is the OAuth scope the store asks tokens for: reading
// objects and listings is all it does. (Pulumi asks for read_write, as it
// writes.)
const readOnlyScope = "https://www.googleapis.com/auth/devstorage.read_only"

// credKind is where a store's credentials come from.
type credKind int

const (
	// credEmulator: STORAGE_EMULATOR_HOST is set, and requests go there
	// without credentials, as the Go storage client sends them.
	credEmulator credKind = iota
	// credAnonymous: the URL asks for an unauthenticated client.
	credAnonymous
	// credJSON: GOOGLE_CREDENTIALS holds a credentials file's contents.
	credJSON
	// credToken: GOOGLE_OAUTH_ACCESS_TOKEN holds an access token.
	credToken
	// credDefault: the application default credentials, found by
	// golang.org/x/oauth2/google (GOOGLE_APPLICATION_CREDENTIALS, gcloud's
	// well-known file, the metadata server).
	credDefault
)

// credSource is the credentials a store uses and what to fix when they
// fail.
type credSource struct {
	kind credKind
	// fix names, for messages, what the user sets to change them.
	fix string
	// endpoint is the JSON API base URL, ending in "/storage/v1/".
	endpoint string
}

// chooseCredentials picks the credentials and the endpoint as Pulumi's gs://
// opener does, reading the environment through getenv: with
// STORAGE_EMULATOR_HOST set, the emulator and no credentials; with
// anonymous=true or access_id=-, no credentials; otherwise
// GOOGLE_CREDENTIALS, then GOOGLE_OAUTH_ACCESS_TOKEN, then the application
// default credentials.
func chooseCredentials(o Options, getenv func(string) string) (credSource, error) {
	if host := getenv("STORAGE_EMULATOR_HOST"); host != "" {
		ep, err := emulatorEndpoint(host)
		if err != nil {
			return credSource{}, err
		}
		return credSource{kind: credEmulator, fix: "STORAGE_EMULATOR_HOST", endpoint: ep}, nil
	}
	src := credSource{endpoint: "https://storage." + o.UniverseDomain + "/storage/v1/"}
	switch {
	case o.Anonymous:
		src.kind, src.fix = credAnonymous, "anonymous=true or access_id=- in the backend URL (the bucket must allow public reads)"
	case getenv("GOOGLE_CREDENTIALS") != "":
		src.kind, src.fix = credJSON, "GOOGLE_CREDENTIALS"
	case getenv("GOOGLE_OAUTH_ACCESS_TOKEN") != "":
		src.kind, src.fix = credToken, "GOOGLE_OAUTH_ACCESS_TOKEN (an access token expires after an hour)"
	case getenv("GOOGLE_APPLICATION_CREDENTIALS") != "":
		src.kind, src.fix = credDefault, "GOOGLE_APPLICATION_CREDENTIALS"
	default:
		src.kind, src.fix = credDefault, "the application default credentials (gcloud auth application-default login), or set GOOGLE_CREDENTIALS"
	}
	return src, nil
}

// emulatorEndpoint is the JSON API base URL of STORAGE_EMULATOR_HOST, as
// the Go storage client reads it: host:port means plain HTTP, and a URL
// keeps its scheme.
func emulatorEndpoint(host string) (string, error) {
	u := &url.URL{Scheme: "http", Host: host}
	if strings.Contains(host, "://") {
		var err error
		if u, err = url.Parse(host); err != nil || u.Host == "" {
			return "", fmt.Errorf("STORAGE_EMULATOR_HOST=%q is not host:port or a URL", host)
		}
	}
	u.Path, u.RawQuery, u.Fragment = "/storage/v1/", "", ""
	return u.String(), nil
}

// credentialTypes are the credential files GOOGLE_CREDENTIALS may hold:
// every type golang.org/x/oauth2/google reads, as Pulumi accepts them all.
var credentialTypes = []google.CredentialsType{
	google.ServiceAccount, google.AuthorizedUser, google.ExternalAccount,
	google.ExternalAccountAuthorizedUser, google.ImpersonatedServiceAccount,
	google.GDCHServiceAccount,
}

// tokenSource returns the source of the tokens src's requests carry, nil
// for none, and sets src.fix to what the user would change. tctx carries the HTTP client token requests use; it is kept by
// the token source for later refreshes, so it must not be cancelled when
// New returns. Its errors name the variable to fix and never hold a
// credential.
func tokenSource(tctx context.Context, src *credSource, name string, getenv func(string) string) (oauth2.TokenSource, error) {
	denied := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", store.ErrAccessDenied, fmt.Sprintf(format, args...))
	}
	switch src.kind {
	case credJSON:
		data := []byte(getenv("GOOGLE_CREDENTIALS"))
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(data, &head); err != nil {
			return nil, denied("GOOGLE_CREDENTIALS is not a credentials JSON document, for %s: set it to the contents of a key file, not its path", name)
		}
		for _, t := range credentialTypes {
			if head.Type != string(t) {
				continue
			}
			c, err := google.CredentialsFromJSONWithTypeAndParams(tctx, data, t, google.CredentialsParams{Scopes: []string{readOnlyScope}})
			if err != nil {
				return nil, denied("GOOGLE_CREDENTIALS holds an unusable %s credential, for %s: %s", t, name, redact(err, data))
			}
			return oauth2.ReuseTokenSource(nil, c.TokenSource), nil
		}
		return nil, denied("GOOGLE_CREDENTIALS holds a credential of type %q, for %s: want a service account key or another credentials file gcloud writes", head.Type, name)
	case credToken:
		return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: getenv("GOOGLE_OAUTH_ACCESS_TOKEN"), TokenType: "Bearer"}), nil
	case credDefault:
		c, err := google.FindDefaultCredentialsWithParams(tctx, google.CredentialsParams{Scopes: []string{readOnlyScope}})
		if err != nil {
			if getenv("GOOGLE_APPLICATION_CREDENTIALS") != "" {
				return nil, denied("no usable Google credentials for %s: GOOGLE_APPLICATION_CREDENTIALS names an unusable file (%s)", name, redact(err, nil))
			}
			return nil, denied("no Google credentials for %s: set GOOGLE_CREDENTIALS, GOOGLE_OAUTH_ACCESS_TOKEN or GOOGLE_APPLICATION_CREDENTIALS, run gcloud auth application-default login, or add ?anonymous=true to the backend URL for a public bucket", name)
		}
		if len(c.JSON) == 0 {
			// Found no file: the metadata server (GCE_METADATA_HOST, or
			// the VM's own) is the last resort.
			src.fix = "the VM's service account, or set GOOGLE_CREDENTIALS, GOOGLE_OAUTH_ACCESS_TOKEN or GOOGLE_APPLICATION_CREDENTIALS (no other Google credentials were found)"
		}
		return oauth2.ReuseTokenSource(nil, c.TokenSource), nil
	}
	return nil, nil
}

// tokenError is the message of a failed token fetch: the token endpoint's
// status and OAuth error code, never its body or the request's.
func tokenError(err error, src credSource, name string) error {
	var re *oauth2.RetrieveError
	var ue *url.Error
	why := ""
	switch {
	case errors.As(err, &re) && re.Response != nil:
		why = fmt.Sprintf("the token endpoint answered %d", re.Response.StatusCode)
		code := re.ErrorCode
		if code == "" {
			var body struct {
				Error string `json:"error"`
			}
			if json.Unmarshal(re.Body, &body) == nil {
				code = body.Error
			}
		}
		if code != "" && len(code) <= 64 && !strings.ContainsAny(code, " \n") {
			why += " " + code
		}
	case errors.As(err, &ue):
		host := ue.URL
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Scheme + "://" + u.Host
		}
		why = fmt.Sprintf("%s: %s", host, redact(ue.Err, nil))
	case strings.Contains(err.Error(), "private key"):
		why = "its private_key is not a PEM RSA key"
	default:
		why = redact(err, nil)
	}
	return &transfer.Error{Msg: fmt.Sprintf("%v: cannot get an access token for %s: %s; check %s", store.ErrAccessDenied, name, why, src.fix), Sentinel: store.ErrAccessDenied}
}

// redact returns err's message on one line, with secret's lines cut out
// should any of them appear in it.
func redact(err error, secret []byte) string {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	for _, line := range strings.Split(string(secret), "\n") {
		if line = strings.TrimSpace(line); len(line) >= 8 {
			msg = strings.ReplaceAll(msg, line, "[redacted]")
		}
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return msg
}

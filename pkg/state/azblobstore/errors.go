package azblobstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/stacksync/stacksync/pkg/state/internal/transfer"
	"github.com/stacksync/stacksync/pkg/state/store"
)

// azErrors turns the Azure SDK's errors into one-line messages that say
// what to fix, wrapping the sentinels callers branch on. No message holds
// a request URL, the SDK's text or a credential: a SAS token travels in
// the URL's query, and an account key in a connection string.
type azErrors struct {
	container string // "azblob://container", for messages
	endpoint  string // scheme and host of the service, no query
	set       settings
	opts      Options
}

// authCodes are the Blob service's codes for a refused credential or a
// credential without the right to read.
var authCodes = map[string]bool{
	"AuthenticationFailed": true, "AuthorizationFailure": true,
	"AuthorizationPermissionMismatch": true, "AuthorizationSourceIPMismatch": true,
	"AuthorizationProtocolMismatch": true, "AuthorizationResourceTypeMismatch": true,
	"AuthorizationServiceMismatch": true, "InsufficientAccountPermissions": true,
	"InvalidAuthenticationInfo": true, "NoAuthenticationInformation": true,
}

// wrap maps err, returned by a call made with ctx in tries attempts.
func (m azErrors) wrap(ctx context.Context, err error, tries int32) error {
	if ctx.Err() != nil {
		// The caller's deadline or cancellation, not the server's fault.
		return ctx.Err()
	}
	short := func(sentinel error, format string, args ...any) error {
		return &transfer.Error{Msg: fmt.Sprintf(format, args...), Sentinel: sentinel, Cause: err}
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return m.transport(err, tries)
	}
	code, status := re.ErrorCode, re.StatusCode
	switch {
	case code == "ContainerNotFound":
		return short(store.ErrNotFound, "%v: container %s does not exist (ContainerNotFound) at %s; check the backend URL", store.ErrNotFound, m.container, m.endpoint)
	case code == "BlobNotFound":
		return short(store.ErrNotFound, "%v: BlobNotFound", store.ErrNotFound)
	case authCodes[code] || status == http.StatusForbidden || status == http.StatusUnauthorized:
		if code == "" {
			code = http.StatusText(status)
		}
		return short(store.ErrAccessDenied, "%v (%s) on %s: %s", store.ErrAccessDenied, code, m.container, m.set.hint())
	case status == http.StatusNotFound:
		return short(store.ErrNotFound, "%v: container %s does not exist or is not reachable at %s (404 %s); check the backend URL and the domain", store.ErrNotFound, m.container, m.endpoint, code)
	case code == "ConditionNotMet" || status == http.StatusPreconditionFailed:
		return short(nil, "the blob changed while it was being read; run the command again")
	case status == http.StatusTooManyRequests || status >= 500:
		return short(nil, "Azure Blob endpoint %s answered %d %s for %s%s; the service is failing or throttling, try again later", m.endpoint, status, code, m.container, transfer.Attempts(tries))
	}
	return short(nil, "Azure Blob endpoint %s answered %d %s for %s; check the backend URL", m.endpoint, status, code, m.container)
}

// transport maps an error that came with no HTTP response.
func (m azErrors) transport(err error, tries int32) error {
	ep := m.endpoint
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return &transfer.Error{Msg: fmt.Sprintf("cannot resolve Azure Blob endpoint %s for %s: %v; check AZURE_STORAGE_ACCOUNT or ?storage_account=, and AZURE_STORAGE_DOMAIN or ?domain=", ep, m.container, dns), Cause: err}
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return &transfer.Error{Msg: fmt.Sprintf("cannot reach Azure Blob endpoint %s for %s: %v; check the domain and that the server is up", ep, m.container, op), Cause: err}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &transfer.Error{Msg: fmt.Sprintf("Azure Blob endpoint %s for %s did not answer in time (%s to connect, %s for the headers, %s of silence)%s; check the endpoint and that the server is up",
			ep, m.container, m.opts.ConnectTimeout, m.opts.ResponseHeaderTimeout, m.opts.IdleBodyTimeout, transfer.Attempts(tries))}
	}
	if op != nil {
		return &transfer.Error{Msg: fmt.Sprintf("connection to Azure Blob endpoint %s for %s failed: %v%s; check the endpoint and that the server is up", ep, m.container, op, transfer.Attempts(tries)), Cause: err}
	}
	var ue *url.Error
	if m.set.cred == credDefault && !errors.As(err, &ue) {
		// The default credential chain found nothing usable, or the
		// service is plain HTTP, where a bearer token may not go.
		first, _, _ := strings.Cut(err.Error(), "\n")
		return &transfer.Error{Msg: fmt.Sprintf("%v: no usable Azure credential for %s (%s): set AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN or AZURE_STORAGE_CONNECTION_STRING, or sign in for the default Azure credential chain (az login, AZURE_CLIENT_ID…)", store.ErrAccessDenied, m.container, strings.TrimSpace(first)), Sentinel: store.ErrAccessDenied, Cause: err}
	}
	return &transfer.Error{Msg: fmt.Sprintf("request to Azure Blob endpoint %s for %s failed%s; check the endpoint and that the server is up", ep, m.container, transfer.Attempts(tries)), Cause: err}
}

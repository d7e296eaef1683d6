package gsstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stacksync/stacksync/pkg/state/internal/transfer"
	"github.com/stacksync/stacksync/pkg/state/store"
)

// apiError is the error document of the JSON API.
type apiError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Errors  []struct {
			Reason string `json:"reason"`
		} `json:"errors"`
	} `json:"error"`
}

// maxErrorBody caps what is read of an error answer.
const maxErrorBody = 64 << 10

// errorMessage reads the message of an error answer, on one line and
// shortened; "" when the body has none.
func errorMessage(resp *http.Response) string {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var ae apiError
	if json.Unmarshal(body, &ae) != nil {
		return ""
	}
	msg := strings.Join(strings.Fields(ae.Error.Message), " ")
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return msg
}

// errorMapper turns failed requests into short messages that say what to
// do, wrapping the sentinels callers branch on.
type errorMapper struct {
	bucket   string // "gs://bucket", for messages
	endpoint string // scheme and host of the JSON API
	src      *credSource
	timeout  time.Duration // ResponseHeaderTimeout, for messages
}

// objectOp says whether a 404 may mean a missing object (a read or a stat)
// or only a missing bucket (a listing).
type objectOp bool

// status maps an answer with a status other than 2xx, after attempts
// attempts. It reads (part of) the body, and leaves closing it to the
// caller.
func (m errorMapper) status(resp *http.Response, op objectOp, attempts int) error {
	msg := errorMessage(resp)
	code := resp.StatusCode
	short := func(sentinel error, format string, args ...any) error {
		return &transfer.Error{Msg: fmt.Sprintf(format, args...), Sentinel: sentinel}
	}
	detail := ""
	if msg != "" {
		detail = " (" + msg + ")"
	}
	switch {
	case code == http.StatusNotFound && bool(op) && !strings.Contains(msg, "bucket does not exist"):
		// Cloud Storage says "No such object: <bucket>/<key>" of a
		// missing object and "The specified bucket does not exist." of a
		// missing bucket; an emulator may say neither.
		return short(store.ErrNotFound, "%v", store.ErrNotFound)
	case code == http.StatusNotFound:
		return short(store.ErrNotFound, "%v: bucket %s does not exist; check the backend URL", store.ErrNotFound, m.bucket)
	case code == http.StatusUnauthorized:
		return short(store.ErrAccessDenied, "%v (401) on %s: the credentials were refused%s; check %s", store.ErrAccessDenied, m.bucket, detail, m.src.fix)
	case code == http.StatusForbidden:
		return short(store.ErrAccessDenied, "%v (403) on %s: the credentials lack permission to read the bucket%s; grant them roles/storage.objectViewer on it, or check %s", store.ErrAccessDenied, m.bucket, detail, m.src.fix)
	case code == http.StatusTooManyRequests || code >= 500:
		return short(nil, "Cloud Storage endpoint %s answered %d %s for %s (%d attempts); the service is throttling or failing, try again later", m.endpoint, code, http.StatusText(code), m.bucket, attempts)
	}
	return short(nil, "Cloud Storage endpoint %s answered %d %s for %s%s; check the backend URL and STORAGE_EMULATOR_HOST", m.endpoint, code, http.StatusText(code), m.bucket, detail)
}

// transport maps an error that came with no HTTP response, after attempts
// attempts.
func (m errorMapper) transport(err error, attempts int) error {
	ep := m.endpoint
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			ep = u.Scheme + "://" + u.Host
		}
	}
	tries := transfer.Attempts(attempts)
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return &transfer.Error{Msg: fmt.Sprintf("cannot reach Cloud Storage endpoint %s for %s: %v%s; check the endpoint and that the server is up", ep, m.bucket, op, tries), Cause: err}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &transfer.Error{Msg: fmt.Sprintf("Cloud Storage endpoint %s for %s did not answer within %s%s; check the endpoint and that the server is up", ep, m.bucket, m.timeout, tries)}
	}
	if op != nil {
		return &transfer.Error{Msg: fmt.Sprintf("connection to Cloud Storage endpoint %s for %s failed: %v%s; check the endpoint and that the server is up", ep, m.bucket, op, tries), Cause: err}
	}
	return &transfer.Error{Msg: fmt.Sprintf("request to Cloud Storage endpoint %s for %s failed: %v%s", ep, m.bucket, redact(err, nil), tries), Cause: err}
}

// Package gsstore is the store.Store of a gs:// backend: a Google Cloud
// Storage bucket, read through the JSON API over net/http with GET requests
// only, under deadlines and bounded retries, with credentials found as
// Pulumi finds them and errors that say what to do.
package gsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/stacksync/stacksync/pkg/state/internal/transfer"
	"github.com/stacksync/stacksync/pkg/state/store"
)

// maxJSONAnswer caps what is read of a listing page or of an object's
// metadata: a page of a thousand names is about 200 KiB.
const maxJSONAnswer = 16 << 20

// gsStore is a store.Store over a Cloud Storage bucket. Every request runs
// under the deadlines and the retry bounds of its Options.
type gsStore struct {
	client   *http.Client
	tokens   oauth2.TokenSource // nil: no credentials sent
	endpoint string             // JSON API base URL, ending in "/storage/v1/"
	bucket   string
	prefix   string
	name     string // the backend URL, for messages
	opts     Options
	errs     errorMapper
}

// New opens the bucket opts names. With STORAGE_EMULATOR_HOST set, it talks
// to the emulator there without credentials, as the Go storage client
// does; otherwise to https://storage.<universe domain>/storage/v1/ with
// the credentials of GOOGLE_CREDENTIALS (a credentials file's contents),
// GOOGLE_OAUTH_ACCESS_TOKEN, or else the application default credentials,
// in Pulumi's order, unless opts.Anonymous. Missing or unusable
// credentials are an error wrapping store.ErrAccessDenied.
func New(ctx context.Context, o Options) (store.Store, error) {
	return open(ctx, o, os.Getenv)
}

// open is New reading the environment through getenv.
func open(ctx context.Context, o Options, getenv func(string) string) (*gsStore, error) {
	o = o.withDefaults()
	name := o.name()
	if o.Bucket == "" {
		return nil, fmt.Errorf("opening %s: no bucket", name)
	}
	src, err := chooseCredentials(o, getenv)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", name, err)
	}
	s := &gsStore{
		client:   o.httpClient(),
		endpoint: src.endpoint,
		bucket:   o.Bucket,
		prefix:   o.Prefix,
		name:     name,
		opts:     o,
	}
	ep, _ := url.Parse(src.endpoint)
	s.errs = errorMapper{bucket: "gs://" + o.Bucket, endpoint: ep.Scheme + "://" + ep.Host, src: &src, timeout: o.ResponseHeaderTimeout}
	// Token requests run under the same deadlines, bounded as a whole; the
	// token source keeps this context for its refreshes.
	tc := o.httpClient()
	tc.Timeout = o.ConnectTimeout + o.TLSHandshakeTimeout + o.ResponseHeaderTimeout + o.IdleBodyTimeout
	tctx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, tc)
	if s.tokens, err = tokenSource(tctx, &src, name, getenv); err != nil {
		return nil, err
	}
	if s.tokens != nil {
		// Fetch the first token now, so that unusable credentials fail
		// the open, as they do on S3; later requests reuse it.
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, src.endpoint, nil)
		if err := s.authorize(ctx, req); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Location implements store.Store.
func (s *gsStore) Location(key string) string {
	return "gs://" + s.bucket + "/" + s.prefix + key
}

// objectURL is the JSON API URL of the object at key, with query q.
func (s *gsStore) objectURL(key string, q url.Values) string {
	return s.endpoint + "b/" + url.PathEscape(s.bucket) + "/o/" + url.PathEscape(s.prefix+key) + "?" + q.Encode()
}

// objectJSON is an object's metadata, as a listing and a stat return it.
type objectJSON struct {
	Name    string    `json:"name"`
	Size    string    `json:"size"`
	Updated time.Time `json:"updated"`
}

// object converts metadata to a store.Object.
func (s *gsStore) object(o objectJSON) (store.Object, error) {
	size, err := strconv.ParseInt(o.Size, 10, 64)
	if err != nil || size < 0 {
		return store.Object{}, fmt.Errorf("%s: the server gave the size %q", s.Location(strings.TrimPrefix(o.Name, s.prefix)), o.Size)
	}
	return store.Object{Key: strings.TrimPrefix(o.Name, s.prefix), Size: size, ModTime: o.Updated}, nil
}

// getJSON GETs u and decodes its JSON answer into v; loc and op are for
// messages.
func (s *gsStore) getJSON(ctx context.Context, u string, op objectOp, verb, loc string, v any) error {
	reqCtx, cancel := context.WithCancelCause(ctx)
	resp, attempts, err := s.get(reqCtx, u, nil)
	if err != nil {
		cancel(nil)
		return fmt.Errorf("%s %s: %w", verb, loc, err)
	}
	b := newBody(ctx, fetch{resp.Body, reqCtx, cancel}, s.opts.IdleBodyTimeout, loc)
	defer b.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %w", verb, loc, s.errs.status(resp, op, attempts))
	}
	data, err := io.ReadAll(io.LimitReader(b, maxJSONAnswer+1))
	if err != nil {
		return fmt.Errorf("%s: %w", verb, err) // b's errors name loc
	}
	if len(data) > maxJSONAnswer {
		return fmt.Errorf("%s %s: the answer is over %d bytes; the endpoint %s is not Cloud Storage", verb, loc, maxJSONAnswer, s.errs.endpoint)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s %s: the answer is not the JSON API's: %v; check the endpoint %s", verb, loc, err, s.errs.endpoint)
	}
	return nil
}

// List implements store.Store. It follows the listing's page tokens to
// its end (a page with no nextPageToken is the last), and fails on a
// page that repeats a token already seen: a listing that would never end.
func (s *gsStore) List(ctx context.Context, prefix string, recursive bool, fn func(store.Object) error) error {
	q := url.Values{"prefix": {s.prefix + prefix}, "fields": {"items(name,size,updated),nextPageToken"}}
	if !recursive {
		q.Set("delimiter", "/")
	}
	loc := s.Location(prefix)
	seen := map[string]bool{}
	for page := 1; ; page++ {
		var out struct {
			Items         []objectJSON `json:"items"`
			NextPageToken string       `json:"nextPageToken"`
		}
		u := s.endpoint + "b/" + url.PathEscape(s.bucket) + "/o?" + q.Encode()
		if err := s.getJSON(ctx, u, objectOp(false), "listing", loc, &out); err != nil {
			return err
		}
		for _, it := range out.Items {
			o, err := s.object(it)
			if err != nil {
				return fmt.Errorf("listing %s: %w", loc, err)
			}
			if err := fn(o); err != nil {
				return err
			}
		}
		next := out.NextPageToken
		switch {
		case next == "":
			return nil
		case seen[next]:
			return fmt.Errorf("listing %s: page %d of the listing repeats the page token of an earlier page, so the listing would never end; the endpoint %s answers listings wrongly", loc, page, s.errs.endpoint)
		}
		seen[next] = true
		q.Set("pageToken", next)
	}
}

// Stat implements store.Store with one GET of the object's metadata.
func (s *gsStore) Stat(ctx context.Context, key string) (store.Object, error) {
	var out objectJSON
	if err := s.getJSON(ctx, s.objectURL(key, url.Values{"fields": {"name,size,updated"}}), objectOp(true), "looking up", s.Location(key), &out); err != nil {
		return store.Object{}, err
	}
	o, err := s.object(out)
	if err != nil {
		return store.Object{}, fmt.Errorf("looking up %s: %w", s.Location(key), err)
	}
	o.Key = key
	return o, nil
}

// ReadRange implements store.Store. It sends one GET of the object's media:
// with no Range header for the whole object (off 0, n < 0), "bytes=off-"
// to read from off to the end, and "bytes=off-(off+n-1)" for n bytes. The
// reader it returns resumes a transfer that breaks (connection reset,
// truncated body, no data for IdleBodyTimeout) with a ranged GET from the
// offset reached, conditional on the generation of the first response, so
// two versions of the object are never mixed; it fetches the body at most
// MaxAttempts times.
func (s *gsStore) ReadRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	loc := s.Location(key)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", loc, err)
	}
	if n == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	header := http.Header{}
	if r := transfer.RangeHeader(off, n); r != "" {
		header.Set("Range", r)
	}
	reqCtx, cancel := context.WithCancelCause(ctx)
	resp, attempts, err := s.get(reqCtx, s.objectURL(key, url.Values{"alt": {"media"}}), header)
	if err != nil {
		cancel(nil)
		return nil, fmt.Errorf("reading %s: %w", loc, err)
	}
	b := newBody(ctx, fetch{resp.Body, reqCtx, cancel}, s.opts.IdleBodyTimeout, loc)
	resumable := func() *body {
		if gen := resp.Header.Get("X-Goog-Generation"); gen != "" {
			b.maxAttempts = s.opts.MaxAttempts
			b.resume = func(got int64) (fetch, error) { return s.resume(ctx, key, gen, off+got, n, got, b.fetches) }
		}
		return b
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		return resumable(), nil
	case http.StatusOK:
		if header.Get("Range") == "" {
			return resumable(), nil
		}
		return skipTo(b, off, n, loc)
	case http.StatusRequestedRangeNotSatisfiable:
		b.Close()
		return io.NopCloser(strings.NewReader("")), nil // empty object, or off at or past its end
	}
	err = s.errs.status(resp, objectOp(true), attempts)
	b.Close()
	return nil, fmt.Errorf("reading %s: %w", loc, err)
}

// resume waits a backoff, then GETs the object at key from byte start on,
// for the rest of the n bytes asked for (n < 0: to the end) of which got
// have come, if its generation is still gen. fetches is the number of
// GETs made so far.
func (s *gsStore) resume(ctx context.Context, key, gen string, start, n, got int64, fetches int) (fetch, error) {
	if err := sleep(ctx, s.backoff(retryBase, fetches)); err != nil {
		return fetch{}, err
	}
	header := http.Header{}
	if n > 0 {
		header.Set("Range", transfer.RangeHeader(start, n-got))
	} else {
		header.Set("Range", fmt.Sprintf("bytes=%d-", start)) // even from 0, for a Content-Range to check
	}
	reqCtx, cancel := context.WithCancelCause(ctx)
	resp, attempts, err := s.get(reqCtx, s.objectURL(key, url.Values{"alt": {"media"}, "ifGenerationMatch": {gen}}), header)
	if err != nil {
		cancel(nil)
		return fetch{}, err
	}
	f := fetch{resp.Body, reqCtx, cancel}
	fail := func(err error) (fetch, error) {
		_ = resp.Body.Close()
		cancel(nil)
		return fetch{}, err
	}
	switch {
	case resp.StatusCode == http.StatusPreconditionFailed:
		return fail(errors.New("the object changed while it was being read; run the command again"))
	case resp.StatusCode != http.StatusPartialContent:
		if resp.StatusCode == http.StatusOK {
			return fail(fmt.Errorf("the server answered the ranged GET with the whole object; cannot resume"))
		}
		return fail(s.errs.status(resp, objectOp(true), attempts))
	case !strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", start)):
		return fail(fmt.Errorf("resuming at byte %d, the server answered Content-Range %q; cannot resume", start, resp.Header.Get("Content-Range")))
	}
	return f, nil
}

// skipTo serves a range from a whole body, for a server that ignored the
// Range header.
func skipTo(b *body, off, n int64, loc string) (io.ReadCloser, error) {
	if _, err := io.CopyN(io.Discard, b, off); err != nil && !errors.Is(err, io.EOF) {
		b.Close()
		return nil, err
	}
	var r io.Reader = b
	if n > 0 {
		r = io.LimitReader(b, n)
	}
	return struct {
		io.Reader
		io.Closer
	}{r, b}, nil
}

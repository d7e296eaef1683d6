package state

import (
	"net/url"
	"strconv"

	"github.com/stacksync/stacksync/pkg/state/gsstore"
)

// gsParams are the query parameters a gs:// URL may carry: gocloud's
// gcsblob opener refuses any other, and its URL mux takes prefix=.
// access_id (but "-") and private_key_path only configure signed URLs, so
// they are accepted and ignored.
var gsParams = map[string]bool{
	"access_id": true, "private_key_path": false, "anonymous": true,
	"universe_domain": true, "prefix": true,
}

// parseGSURL parses gs://bucket[/prefix][?params] as Pulumi opens it.
func parseGSURL(raw string, bad func(string, ...any) error) (*BackendURL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, bad("%v", err)
	}
	if u.Host == "" {
		return nil, bad("no bucket: want gs://bucket[/prefix]")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, bad("bad query: %v", err)
	}
	if err := checkParams(q, gsParams, bad); err != nil {
		return nil, err
	}
	o := gsstore.Options{
		URL:    Redact(raw),
		Bucket: u.Host,
		// The mux's prefix= parameter followed by the URL path, as gocloud
		// and Pulumi compute it.
		Prefix:         q.Get("prefix") + pathPrefix(u.Path),
		UniverseDomain: q.Get("universe_domain"),
		Anonymous:      q.Get("access_id") == "-",
	}
	if v := q.Get("anonymous"); v != "" {
		anon, err := strconv.ParseBool(v)
		if err != nil {
			return nil, bad("parameter anonymous=%q is not a boolean", v)
		}
		o.Anonymous = o.Anonymous || anon
	}
	return &BackendURL{Raw: raw, Scheme: "gs", GS: o}, nil
}

package harness

import (
	"net/http"
	"net/url"
	"strings"
)

// Path is the request's unescaped URL path, e.g. "/bucket/.pulumi/meta.yaml"
// for a path-style object request or "/bucket" for a listing.
func (r Request) Path() string {
	u, err := url.ParseRequestURI(r.URI)
	if err != nil {
		return r.URI
	}
	return u.Path
}

// Query is the request's query parameter name (e.g. "prefix"), or "".
func (r Request) Query(name string) string {
	u, err := url.ParseRequestURI(r.URI)
	if err != nil {
		return ""
	}
	return u.Query().Get(name)
}

// ObjectGets returns the GET requests recorded for the object key in
// bucket, as a path-style client sends them ("/<bucket>/<key>"), in arrival
// order. Listings of the bucket are not included.
func (p *RecordingProxy) ObjectGets(bucket, key string) []Request {
	want := "/" + bucket + "/" + strings.TrimPrefix(key, "/")
	var out []Request
	for _, r := range p.Requests() {
		if r.Method == http.MethodGet && r.Path() == want {
			out = append(out, r)
		}
	}
	return out
}

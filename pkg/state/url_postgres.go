package state

import (
	"net/url"
)

// parsePostgresURL parses a postgres:// URL as pulumi opens it: gocloud's
// URL mux takes prefix= (and key=) out, pulumi's driver takes table= out
// and hands the rest, re-encoded, to lib/pq, and pulumi's DIY backend puts
// the URL's path ("<database>/" when it names one) in front of every key,
// after prefix=. raw may hold a password, which bad and ParseBackendURL
// mask.
func parsePostgresURL(raw string, bad func(string, ...any) error) (*BackendURL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, bad("%v", err)
	}
	q := u.Query()
	if q.Get("key") != "" {
		return nil, bad("parameter key= makes a one-object bucket, which pulumi cannot use as a backend; remove it")
	}
	if u.Host == "" && u.User == nil && u.Path == "" {
		// pulumi re-encodes such a URL as "postgres:?…", which lib/pq
		// reads as a malformed key=value string: pulumi cannot open it.
		return nil, bad(`pulumi cannot open a postgres:// URL with neither host nor path; write postgres:/// (three slashes) to take the connection from the PG* environment`)
	}
	b := &BackendURL{Raw: raw, Scheme: "postgres"}
	o := &b.Postgres
	o.Table = q.Get("table")
	prefix := q.Get("prefix")
	o.Prefix = prefix + pathPrefix(u.Path)
	if prefix != "" {
		q.Del("prefix")
		q.Del("key")
	}
	q.Del("table")
	dsn := *u
	dsn.RawQuery = q.Encode()
	dsn.Fragment, dsn.RawFragment = "", ""
	o.DSN = dsn.String()
	return b, nil
}

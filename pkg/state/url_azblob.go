package state

import (
	"net/url"
	"strconv"
)

// azblobParams are the query parameters of an azblob:// URL: those of
// gocloud's azureblob opener and the mux's prefix=. gocloud refuses any
// other, and a parameter given twice.
var azblobParams = map[string]bool{
	"domain": true, "protocol": true, "cdn": true, "localemu": true, "storage_account": true,
	"prefix": true,
}

// parseAzblobURL parses azblob://container[/prefix][?params]. The
// environment (AZURE_STORAGE_*) is read when the store is opened.
func parseAzblobURL(raw string, bad func(string, ...any) error) (*BackendURL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, bad("%v", err)
	}
	if u.Host == "" {
		return nil, bad("no container: want azblob://container[/prefix]")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, bad("bad query: %v", err)
	}
	if err := checkParams(q, azblobParams, bad); err != nil {
		return nil, err
	}
	for k, v := range q {
		if len(v) > 1 {
			return nil, bad("parameter %s is given %d times; keep one", k, len(v))
		}
	}
	b := &BackendURL{Raw: raw, Scheme: "azblob"}
	o := &b.Azure
	o.URL = Redact(raw)
	o.Container = u.Host
	o.Prefix = q.Get("prefix") + pathPrefix(u.Path)
	o.Account = q.Get("storage_account")
	o.Domain = q.Get("domain")
	switch o.Protocol = q.Get("protocol"); o.Protocol {
	case "", "http", "https":
	default:
		return nil, bad("parameter protocol=%q: want http or https", o.Protocol)
	}
	for _, p := range []struct {
		name string
		dst  **bool
	}{{"cdn", &o.CDN}, {"localemu", &o.LocalEmulator}} {
		if !q.Has(p.name) {
			continue
		}
		v, err := strconv.ParseBool(q.Get(p.name))
		if err != nil {
			return nil, bad("parameter %s=%q is not a boolean", p.name, q.Get(p.name))
		}
		*p.dst = &v
	}
	return b, nil
}

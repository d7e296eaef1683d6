package state

import (
	"net/url"
	"strings"
)

// redactedValue stands in for a secret, as net/url's URL.Redacted writes it.
const redactedValue = "xxxxx"

// secretParams are the words that make a URL parameter's value a secret
// when its lower-cased name holds one: a password, an access token, an
// account key, a SAS signature.
var secretParams = []string{"pass", "pwd", "secret", "token", "sig", "credential", "accountkey", "account_key", "apikey", "api_key"}

// Redact returns the backend URL raw fit to print: the password of any
// userinfo (s3://KEY:SECRET@bucket, or one inside a parameter such as
// endpoint=https://user:pass@host) and the value of any parameter whose
// name says it is a secret (password=, sig=, token=, …) become "xxxxx".
// It works on text that does not parse as a URL too, and leaves the rest
// of the URL as written. Every URL stacksync prints goes through it.
func Redact(raw string) string {
	base, query, hasQuery := strings.Cut(raw, "?")
	base = redactUserinfo(base)
	if !hasQuery {
		return base
	}
	params := strings.Split(query, "&")
	for i, p := range params {
		name, value, hasValue := strings.Cut(p, "=")
		if !hasValue {
			continue
		}
		if secretName(name) {
			params[i] = name + "=" + redactedValue
			continue
		}
		if strings.Contains(value, "@") {
			params[i] = name + "=" + redactUserinfo(value)
		} else if v, err := url.QueryUnescape(value); err == nil && strings.Contains(v, "@") {
			if r := redactUserinfo(v); r != v {
				params[i] = name + "=" + url.QueryEscape(r)
			}
		}
	}
	return base + "?" + strings.Join(params, "&")
}

// redactUserinfo replaces the password in the userinfo of s (the part
// between "//" and the first "@" before any "/"), or the whole userinfo
// when it holds no ":", which can be a bare key.
func redactUserinfo(s string) string {
	i := strings.Index(s, "//")
	if i < 0 {
		return s
	}
	rest := s[i+2:]
	end := len(rest)
	if j := strings.IndexAny(rest, "/#"); j >= 0 {
		end = j
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return s
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		user = redactedValue
	} else {
		user += ":" + redactedValue
	}
	return s[:i+2] + user + rest[at:]
}

// secretName reports whether a parameter's name says its value is secret.
func secretName(name string) bool {
	n := strings.ToLower(name)
	if u, err := url.QueryUnescape(n); err == nil {
		n = u
	}
	for _, w := range secretParams {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

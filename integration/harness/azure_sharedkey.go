package harness

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// azureAPIVersion is the x-ms-version the harness's own requests send.
// Azurite runs with --skipApiVersionCheck, so it only has to be one the
// Blob service documents.
const azureAPIVersion = "2021-12-02"

// signSharedKey adds x-ms-date, x-ms-version and a SharedKey Authorization
// header for account and its base64 key to req, as the Blob service's
// "Authorize with Shared Key" scheme defines them. Set every other header,
// and ContentLength, before calling it.
func signSharedKey(req *http.Request, account, key string) error {
	secret, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return fmt.Errorf("decoding the account key: %w", err)
	}
	req.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("x-ms-version", azureAPIVersion)

	length := ""
	if req.ContentLength > 0 {
		length = fmt.Sprint(req.ContentLength)
	}
	h := req.Header
	lines := []string{
		req.Method,
		h.Get("Content-Encoding"),
		h.Get("Content-Language"),
		length,
		h.Get("Content-MD5"),
		h.Get("Content-Type"),
		"", // Date: x-ms-date is used instead
		h.Get("If-Modified-Since"),
		h.Get("If-Match"),
		h.Get("If-None-Match"),
		h.Get("If-Unmodified-Since"),
		h.Get("Range"),
	}
	toSign := strings.Join(lines, "\n") + "\n" + canonicalHeaders(h) + canonicalResource(account, req.URL)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(toSign))
	req.Header.Set("Authorization", "SharedKey "+account+":"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return nil
}

// canonicalHeaders is the x-ms-* headers, lower-cased and sorted, one
// "name:value\n" each.
func canonicalHeaders(h http.Header) string {
	var names []string
	for name := range h {
		if lower := strings.ToLower(name); strings.HasPrefix(lower, "x-ms-") {
			names = append(names, lower)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		b.WriteString(name + ":" + strings.TrimSpace(h.Get(name)) + "\n")
	}
	return b.String()
}

// canonicalResource is "/<account><escaped path>" followed by each query
// parameter, lower-cased and sorted, as "\nname:value[,value]". On a
// path-style emulator URL the account therefore appears twice.
func canonicalResource(account string, u *url.URL) string {
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	var b strings.Builder
	b.WriteString("/" + account + path)
	params := map[string][]string{}
	for name, values := range u.Query() {
		lower := strings.ToLower(name)
		params[lower] = append(params[lower], values...)
	}
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		values := params[name]
		sort.Strings(values)
		b.WriteString("\n" + name + ":" + strings.Join(values, ","))
	}
	return b.String()
}

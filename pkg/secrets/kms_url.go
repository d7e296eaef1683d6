package secrets

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"
)

// ErrBadURL wraps what makes an awskms URL one pulumi cannot open.
var ErrBadURL = errors.New("bad awskms secrets provider URL")

// kmsURL is an awskms:// secrets provider URL taken apart as gocloud's
// awskms.URLOpener takes it apart.
type kmsURL struct {
	// keyID is the URL's host joined with its path, leading "/" removed:
	// a key id, "alias/name", a key ARN or an alias ARN.
	keyID string
	// context is the encryption context from the context_* parameters.
	context map[string]string
	// params are the other parameters, for the AWS configuration.
	params url.Values
	// clientKey identifies the AWS configuration the parameters give.
	clientKey string
}

// parseKMSURL parses raw as gocloud does: url.Parse, the key from host and
// path, each context_<k> parameter (exactly one value) into the encryption
// context, and the rest checked against the parameters
// gocloud.dev/aws.V2ConfigFromURLParams knows.
func parseKMSURL(raw string) (kmsURL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return kmsURL{}, fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	k := kmsURL{keyID: strings.TrimPrefix(path.Join(u.Host, u.Path), "/"), params: u.Query()}
	for name, vs := range k.params {
		c, ok := strings.CutPrefix(name, "context_")
		if !ok {
			continue
		}
		if len(vs) != 1 {
			return kmsURL{}, fmt.Errorf("%w: encryption context parameter %q must have exactly one value", ErrBadURL, name)
		}
		if k.context == nil {
			k.context = map[string]string{}
		}
		k.context[c] = vs[0]
		k.params.Del(name)
	}
	var names []string
	for name, vs := range k.params {
		if !knownParam(name) {
			return kmsURL{}, fmt.Errorf("%w: unknown query parameter %q", ErrBadURL, name)
		}
		if name != "awssdk" {
			names = append(names, name+"="+vs[0])
		}
	}
	sort.Strings(names)
	k.clientKey = strings.Join(names, "&")
	return k, nil
}

// knownParam reports whether gocloud's V2ConfigFromURLParams accepts name.
func knownParam(name string) bool {
	switch name {
	case "region", "endpoint", "profile", "role", "hostname_immutable", "dualstack", "fips",
		"rate_limiter_capacity", "anonymous", "request_checksum_calculation", "response_checksum_validation", "awssdk":
		return true
	}
	return false
}

// arnRegion returns the region an ARN key names, or "".
func (k kmsURL) arnRegion() string {
	// arn:partition:kms:region:account:key/id or …:alias/name
	if parts := strings.SplitN(k.keyID, ":", 6); len(parts) == 6 && parts[0] == "arn" {
		return parts[3]
	}
	return ""
}

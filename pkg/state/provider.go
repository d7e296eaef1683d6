package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strings"
)

// Secrets provider types as recorded in a checkpoint's secrets_providers.type.
const (
	TypePassphrase = "passphrase"
	TypeCloud      = "cloud"
	TypeService    = "service"
)

// SecretsProvider is the secrets provider a checkpoint records: the
// secrets_providers object of its latest deployment. The string fields are
// copied verbatim from state, because Pulumi compares them byte for byte.
type SecretsProvider struct {
	// Type is "passphrase", "cloud" or "service" (or whatever an unknown
	// writer put there; see Known).
	Type string `json:"type"`
	// URL is state.url: the keeper URL of a cloud provider, or the service URL.
	URL string `json:"url,omitempty"`
	// EncryptedKey is state.encryptedkey of a cloud provider: the standard
	// base64 of the KMS ciphertext of the data key.
	EncryptedKey string `json:"encryptedkey,omitempty"`
	// Salt is state.salt of a passphrase provider ("v1:…").
	Salt string `json:"salt,omitempty"`
}

// Known reports whether p has a type Pulumi can load (passphrase, cloud or
// service).
func (p SecretsProvider) Known() bool {
	switch p.Type {
	case TypePassphrase, TypeCloud, TypeService:
		return true
	}
	return false
}

// Complete reports, as an error wrapping ErrCorrupt, a known provider whose
// state lacks what Pulumi needs to use it: a passphrase provider without a
// salt, or a cloud provider without a URL or encrypted key. Restoring from
// such a state would delete the settings file's own values.
func (p SecretsProvider) Complete() error {
	switch {
	case p.Type == TypePassphrase && p.Salt == "":
		return fmt.Errorf("%w: passphrase secrets provider with no salt", ErrCorrupt)
	case p.Type == TypeCloud && p.URL == "":
		return fmt.Errorf("%w: cloud secrets provider with no url", ErrCorrupt)
	case p.Type == TypeCloud && p.EncryptedKey == "":
		return fmt.Errorf("%w: cloud secrets provider %s with no encryptedkey", ErrCorrupt, p.URL)
	}
	return nil
}

// CloudURL returns the keeper URL of a cloud provider, the value of the
// settings file's secretsprovider field, or "" for other providers.
func (p SecretsProvider) CloudURL() string {
	if p.Type != TypeCloud {
		return ""
	}
	return p.URL
}

// Kind classifies p for reports: "passphrase", "service", the keeper scheme of
// a cloud provider ("awskms", "gcpkms", "azurekeyvault", "hashivault", or any
// other scheme found in the URL), or "unknown" for a type Pulumi does not
// know or a cloud URL with no scheme.
func (p SecretsProvider) Kind() string {
	switch p.Type {
	case TypePassphrase, TypeService:
		return p.Type
	case TypeCloud:
		if s := p.scheme(); s != "" {
			return s
		}
	}
	return "unknown"
}

// scheme returns the lower-cased scheme of a cloud provider's URL, or "".
func (p SecretsProvider) scheme() string {
	if p.Type != TypeCloud {
		return ""
	}
	scheme, _, ok := strings.Cut(p.URL, "://")
	if !ok {
		return ""
	}
	return strings.ToLower(scheme)
}

// KeyID returns the KMS key of an awskms provider as the URL names it: a key
// id, "alias/name", or an ARN. Like gocloud, it is the URL's host joined with
// its path, leading "/" removed. It returns "" for other providers.
func (p SecretsProvider) KeyID() string {
	if p.scheme() != "awskms" {
		return ""
	}
	u, err := url.Parse(p.URL)
	if err != nil {
		// Fall back to plain string work, so odd URLs still report a key.
		rest := p.URL[len("awskms://"):]
		rest, _, _ = strings.Cut(rest, "?")
		return strings.TrimPrefix(rest, "/")
	}
	return strings.TrimPrefix(path.Join(u.Host, u.Path), "/")
}

// Region returns the AWS region of an awskms provider: the URL's region
// parameter, or else the region field of an ARN key. It returns "" when
// neither says.
func (p SecretsProvider) Region() string {
	if p.scheme() != "awskms" {
		return ""
	}
	if _, q, ok := strings.Cut(p.URL, "?"); ok {
		if v, err := url.ParseQuery(q); err == nil && v.Get("region") != "" {
			return v.Get("region")
		}
	}
	// arn:partition:kms:region:account:key/id
	if parts := strings.SplitN(p.KeyID(), ":", 6); len(parts) == 6 && parts[0] == "arn" {
		return parts[3]
	}
	return ""
}

// Fingerprint returns the first 12 hex characters of the SHA-256 of the
// encrypted key, so reports can show which stacks share a data key without
// printing it. It returns "" when there is no encrypted key.
func (p SecretsProvider) Fingerprint() string {
	if p.EncryptedKey == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(p.EncryptedKey))
	return hex.EncodeToString(sum[:])[:12]
}

// providerJSON is apitype.SecretsProvidersV1, decoded by encoding/json as
// pulumi decodes it.
type providerJSON struct {
	Type  string          `json:"type"`
	State json.RawMessage `json:"state"`
}

// providerFrom decodes a provider's state as pulumi's manager for its type
// does.
func providerFrom(j *providerJSON) (*SecretsProvider, error) {
	p := &SecretsProvider{Type: j.Type}
	if len(j.State) == 0 || bytes.Equal(j.State, []byte("null")) {
		return p, nil
	}
	switch j.Type {
	case TypePassphrase:
		var st struct {
			Salt string `json:"salt"`
		}
		if err := json.Unmarshal(j.State, &st); err != nil {
			return nil, typeError("secrets_providers.state", err)
		}
		p.Salt = st.Salt
	case TypeCloud:
		var st struct {
			URL          string `json:"url"`
			EncryptedKey string `json:"encryptedkey"`
		}
		if err := json.Unmarshal(j.State, &st); err != nil {
			return nil, typeError("secrets_providers.state", err)
		}
		p.URL, p.EncryptedKey = st.URL, st.EncryptedKey
	default:
		// Shown only: a service URL, or whatever an unknown type holds.
		var st struct {
			URL string `json:"url"`
		}
		if json.Unmarshal(j.State, &st) == nil {
			p.URL = st.URL
		}
	}
	return p, nil
}

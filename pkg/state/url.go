package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/stacksync/stacksync/internal/localfile"
	"github.com/stacksync/stacksync/pkg/state/azblobstore"
	"github.com/stacksync/stacksync/pkg/state/gsstore"
	"github.com/stacksync/stacksync/pkg/state/postgresstore"
	"github.com/stacksync/stacksync/pkg/state/s3store"
)

// BackendURL is a parsed DIY backend URL: s3://, gs://, postgres:// or file://.
type BackendURL struct {
	// Raw is the URL as given, with any credential in it masked (Redact):
	// fit to print.
	Raw string
	// Scheme is "s3", "gs", "azblob", "postgres" or "file".
	Scheme string

	// Dir is the absolute root directory of a file:// backend.
	Dir string
	// Prefix is the fileblob prefix= parameter of a file:// backend.
	Prefix string

	// S3 holds the bucket, key prefix and client settings of an s3://
	// backend, after Pulumi's rewrites of its legacy parameters (spec
	// §5.2). Its deadlines and CA bundle are left for the caller to set.
	S3 s3store.Options
	// GS holds the bucket, key prefix and settings of a gs:// backend.
	GS gsstore.Options
	// Azure holds the container, key prefix and URL settings of an
	// azblob:// backend; the environment is read when it is opened.
	Azure azblobstore.Options
	// Postgres holds the connection, table and key prefix of a
	// postgres:// backend.
	Postgres postgresstore.Options
}

// s3Params are the query parameters an s3:// URL may carry. Those mapped to
// false are accepted and ignored: they only matter for writes (ssetype,
// kmskeyid), are ignored by Pulumi too (awssdk), or tune a client we do not
// need (rate_limiter_capacity).
var s3Params = map[string]bool{
	"region": true, "endpoint": true, "profile": true, "role": true,
	"s3ForcePathStyle": true, "use_path_style": true,
	"disableSSL": true, "disable_https": true,
	"accelerate": true, "dualstack": true, "fips": true, "anonymous": true,
	"hostname_immutable":           true,
	"request_checksum_calculation": true, "response_checksum_validation": true,
	"prefix": true,
	"awssdk": false, "ssetype": false, "kmskeyid": false, "rate_limiter_capacity": false,
}

// fileParams are the gocloud fileblob parameters; only prefix matters when
// reading.
var fileParams = map[string]bool{
	"prefix": true, "create_dir": false, "dir_file_mode": false, "no_tmp_dir": false,
	"metadata": false, "base_url": false, "secret_key_path": false,
}

// ParseBackendURL parses a DIY backend URL. A relative file:// path
// (file://./state) is resolved against baseDir, and file://~ against home.
// The result's Raw, and every error, show the URL with its credentials
// masked (Redact).
func ParseBackendURL(raw, baseDir, home string) (*BackendURL, error) {
	u, err := parseBackendURL(raw, baseDir, home)
	if u != nil {
		u.Raw = Redact(raw)
	}
	return u, err
}

func parseBackendURL(raw, baseDir, home string) (*BackendURL, error) {
	bad := func(format string, args ...any) error {
		for i, a := range args {
			// url.Parse's errors quote the whole URL: keep only the cause.
			var ue *url.Error
			if err, ok := a.(error); ok && errors.As(err, &ue) {
				args[i] = ue.Err
			}
		}
		return fmt.Errorf("%w %q: %s", ErrInvalidURL, Redact(raw), fmt.Sprintf(format, args...))
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, bad("want s3://bucket[/prefix] or file:///dir")
	}
	switch scheme {
	case "s3":
		return parseS3URL(raw, bad)
	case "file":
		return parseFileURL(raw, rest, baseDir, home, bad)
	case "gs":
		return parseGSURL(raw, bad)
	case "azblob":
		return parseAzblobURL(raw, bad)
	case "postgres":
		return parsePostgresURL(raw, bad)
	case "http", "https":
		return nil, bad("this is a Pulumi Cloud (service) backend, not a DIY backend; its stacks' settings are kept by the service")
	default:
		return nil, bad("unknown scheme %q; want s3://, gs://, azblob://, postgres:// or file://", scheme)
	}
}

func parseS3URL(raw string, bad func(string, ...any) error) (*BackendURL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, bad("%v", err)
	}
	if u.Host == "" {
		return nil, bad("no bucket: want s3://bucket[/prefix]")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, bad("bad query: %v", err)
	}
	if err := checkParams(q, s3Params, bad); err != nil {
		return nil, err
	}
	b := &BackendURL{Raw: raw, Scheme: "s3"}
	o := &b.S3
	o.URL = Redact(raw)
	o.Bucket = u.Host
	// The mux's prefix= parameter followed by the URL path, as gocloud
	// and Pulumi compute it.
	o.Prefix = q.Get("prefix") + pathPrefix(u.Path)
	o.Region = q.Get("region")
	o.Profile = q.Get("profile")
	o.Role = q.Get("role")
	boolParam := func(name string) (bool, error) {
		v := q.Get(name)
		if v == "" {
			return false, nil
		}
		x, err := strconv.ParseBool(v)
		if err != nil {
			return false, bad("parameter %s=%q is not a boolean", name, v)
		}
		return x, nil
	}
	for _, p := range []struct {
		name string
		dst  *bool
	}{
		{"s3ForcePathStyle", &o.PathStyle}, {"use_path_style", &o.PathStyle},
		{"hostname_immutable", &o.PathStyle},
		{"disable_https", &o.DisableHTTPS},
		{"accelerate", &o.Accelerate}, {"dualstack", &o.DualStack},
		{"fips", &o.FIPS}, {"anonymous", &o.Anonymous},
	} {
		v, err := boolParam(p.name)
		if err != nil {
			return nil, err
		}
		*p.dst = *p.dst || v
	}
	disableSSL, err := boolParam("disableSSL")
	if err != nil {
		return nil, err
	}
	// translateLegacyS3Params: disableSSL becomes disable_https, unless the
	// endpoint already has a scheme, which then decides.
	endpoint := q.Get("endpoint")
	if !strings.Contains(endpoint, "://") {
		o.DisableHTTPS = o.DisableHTTPS || disableSSL
		if endpoint != "" {
			if o.DisableHTTPS {
				endpoint = "http://" + endpoint
			} else {
				endpoint = "https://" + endpoint
			}
		}
	}
	o.Endpoint = endpoint
	for _, p := range []struct {
		name string
		dst  *string
	}{{"request_checksum_calculation", &o.RequestChecksum}, {"response_checksum_validation", &o.ResponseChecksum}} {
		switch v := q.Get(p.name); v {
		case "", "when_supported", "when_required":
			*p.dst = v
		default:
			return nil, bad("parameter %s=%q: want when_supported or when_required", p.name, v)
		}
	}
	if endpoint != "" && o.RequestChecksum == "" {
		o.RequestChecksum = "when_required"
	}
	return b, nil
}

func parseFileURL(raw, rest, baseDir, home string, bad func(string, ...any) error) (*BackendURL, error) {
	p, query, _ := strings.Cut(rest, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, bad("bad query: %v", err)
	}
	if err := checkParams(q, fileParams, bad); err != nil {
		return nil, err
	}
	if p == "" {
		return nil, bad("no directory: want file:///abs/dir, file://~/dir or file://./dir")
	}
	// gocloud's fileblob opens the URL's decoded path.
	if unescaped, err := url.PathUnescape(p); err == nil {
		p = unescaped
	} else {
		return nil, bad("bad path escape: %v", err)
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home == "" {
			return nil, bad("cannot expand ~: no home directory")
		}
		p = filepath.Join(home, p[1:])
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(baseDir, p)
	}
	p, err = filepath.Abs(p)
	if err != nil {
		return nil, bad("%v", err)
	}
	return &BackendURL{Raw: raw, Scheme: "file", Dir: p, Prefix: q.Get("prefix")}, nil
}

// pathPrefix turns a URL path into a key prefix as blob.PrefixedBucket does:
// leading "/" removed, and a trailing "/" added when non-empty.
func pathPrefix(p string) string {
	p = strings.TrimLeft(p, "/")
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

func checkParams(q url.Values, allowed map[string]bool, bad func(string, ...any) error) error {
	var unknown []string
	for k := range q {
		if _, ok := allowed[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return bad("unknown query parameter %q; remove it", unknown[0])
}

// credentialsLimit caps credentials.json: pulumi writes a few lines per
// backend logged in to, so 4 MiB holds thousands, and a device or a stray
// large file is refused before it fills memory.
var credentialsLimit = localfile.Limit{Max: 4 << 20, Of: "pulumi's credentials.json"}

// ResolveBackendURL picks the backend URL as Pulumi does (spec §5.1) when
// none is given explicitly: PULUMI_BACKEND_URL, then the project's
// backend.url, then current in credentials.json under
// PULUMI_CREDENTIALS_PATH, PULUMI_HOME or ~/.pulumi. from says which, for
// messages. getenv is os.Getenv in production.
// credentials.json must be a regular file of at most 4 MiB, read until ctx
// is done.
func ResolveBackendURL(ctx context.Context, projectURL string, getenv func(string) string, home string) (raw, from string, err error) {
	switch {
	case getenv("PULUMI_BACKEND_URL") != "":
		return getenv("PULUMI_BACKEND_URL"), "PULUMI_BACKEND_URL", nil
	case projectURL != "":
		return projectURL, "backend.url in Pulumi.yaml", nil
	}
	dir := getenv("PULUMI_CREDENTIALS_PATH")
	if dir == "" {
		dir = getenv("PULUMI_HOME")
	}
	if dir == "" {
		if home == "" {
			return "", "", fmt.Errorf("%w: PULUMI_BACKEND_URL is not set, and there is no home directory for pulumi login's credentials.json", ErrNoBackendURL)
		}
		dir = filepath.Join(home, ".pulumi")
	}
	file := filepath.Join(dir, "credentials.json")
	data, err := localfile.Read(ctx, file, credentialsLimit)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("%w: PULUMI_BACKEND_URL is not set, and there is no %s (run pulumi login)", ErrNoBackendURL, file)
	}
	if err != nil {
		return "", "", fmt.Errorf("%w: %w", ErrNoBackendURL, err) // err names the file
	}
	var creds struct {
		Current string          `json:"current"`
		Secure  json.RawMessage `json:"$pulumiSecureStore"`
	}
	if err := json.Unmarshal(data, &creds); err != nil {
		return "", "", fmt.Errorf("%w: reading %s: %v", ErrNoBackendURL, file, err)
	}
	if len(creds.Secure) > 0 {
		return "", "", fmt.Errorf("%w: %s is encrypted by pulumi's credential store", ErrNoBackendURL, file)
	}
	if creds.Current == "" {
		return "", "", fmt.Errorf("%w: %s names no current backend (run pulumi login)", ErrNoBackendURL, file)
	}
	return creds.Current, "credentials.json", nil
}

package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/pkg/state/s3store"
)

// TestParseBackendURLS3 mirrors pulumi v3.274.1
// pkg/backend/diy/legacy_s3_params_test.go (TestTranslateLegacyS3Params) as
// far as its rewrites show in the S3 options, plus the path prefix rules of spec
// §1.1 and the parameters of §5.2.
func TestParseBackendURLS3(t *testing.T) {
	tests := []struct {
		name       string
		give       string
		wantBucket string
		wantPrefix string
		want       s3store.Options
	}{
		// Pulumi's own cases.
		{name: "no query", give: "s3://bucket", wantBucket: "bucket"},
		{
			name: "v2 params without endpoint untouched",
			give: "s3://bucket?s3ForcePathStyle=true&awssdk=v2", wantBucket: "bucket",
			want: s3store.Options{PathStyle: true},
		},
		{
			name: "endpoint defaults request_checksum_calculation",
			give: "s3://bucket?endpoint=https://example.com&s3ForcePathStyle=true&awssdk=v2", wantBucket: "bucket",
			want: s3store.Options{Endpoint: "https://example.com", PathStyle: true, RequestChecksum: "when_required"},
		},
		{
			name: "explicit request_checksum_calculation untouched",
			give: "s3://bucket?endpoint=https://example.com&request_checksum_calculation=when_supported", wantBucket: "bucket",
			want: s3store.Options{Endpoint: "https://example.com", RequestChecksum: "when_supported"},
		},
		{
			name: "disableSSL dropped when endpoint has explicit https scheme",
			give: "s3://bucket?endpoint=https://minio:9000&disableSSL=true", wantBucket: "bucket",
			want: s3store.Options{Endpoint: "https://minio:9000", RequestChecksum: "when_required"},
		},
		{
			name: "disableSSL dropped when endpoint has explicit http scheme",
			give: "s3://bucket?endpoint=http://minio:9000&disableSSL=true", wantBucket: "bucket",
			want: s3store.Options{Endpoint: "http://minio:9000", RequestChecksum: "when_required"},
		},
		{
			name: "disableSSL translated without endpoint",
			give: "s3://bucket?disableSSL=true", wantBucket: "bucket",
			want: s3store.Options{DisableHTTPS: true},
		},
		{
			name: "disableSSL false translated",
			give: "s3://bucket?disableSSL=false", wantBucket: "bucket",
		},
		{
			name: "bare endpoint gets https scheme",
			give: "s3://bucket?endpoint=minio:9000", wantBucket: "bucket",
			want: s3store.Options{Endpoint: "https://minio:9000", RequestChecksum: "when_required"},
		},
		{
			name: "bare endpoint with disableSSL gets http scheme",
			give: "s3://bucket?endpoint=minio:9000&disableSSL=true&s3ForcePathStyle=true", wantBucket: "bucket",
			want: s3store.Options{Endpoint: "http://minio:9000", DisableHTTPS: true, PathStyle: true, RequestChecksum: "when_required"},
		},

		// Path prefixes (spec §1.1).
		{name: "path prefix", give: "s3://b/team/a", wantBucket: "b", wantPrefix: "team/a/"},
		{name: "path prefix with trailing slash", give: "s3://b/team/a/", wantBucket: "b", wantPrefix: "team/a/"},
		{name: "root path", give: "s3://b/", wantBucket: "b"},
		{name: "double leading slash", give: "s3://b//x", wantBucket: "b", wantPrefix: "x/"},
		{name: "path prefix and region", give: "s3://my-bucket/team/a?region=eu-west-1", wantBucket: "my-bucket", wantPrefix: "team/a/", want: s3store.Options{Region: "eu-west-1"}},
		{name: "mux prefix in front of path", give: "s3://b/x?prefix=p/", wantBucket: "b", wantPrefix: "p/x/"},
		{name: "mux prefix alone", give: "s3://b?prefix=p/", wantBucket: "b", wantPrefix: "p/"},
		{name: "mux prefix gets no slash", give: "s3://b?prefix=p", wantBucket: "b", wantPrefix: "p"},

		// Other parameters.
		{
			name:       "client settings",
			give:       "s3://b?region=us-east-2&profile=ops&role=arn:aws:iam::111122223333:role/r&accelerate=true&dualstack=1&fips=T&anonymous=true&response_checksum_validation=when_required",
			wantBucket: "b",
			want: s3store.Options{Region: "us-east-2", Profile: "ops", Role: "arn:aws:iam::111122223333:role/r",
				Accelerate: true, DualStack: true, FIPS: true, Anonymous: true, ResponseChecksum: "when_required"},
		},
		{name: "use_path_style", give: "s3://b?use_path_style=true", wantBucket: "b", want: s3store.Options{PathStyle: true}},
		{name: "hostname_immutable", give: "s3://b?endpoint=https://h&hostname_immutable=true", wantBucket: "b",
			want: s3store.Options{Endpoint: "https://h", PathStyle: true, RequestChecksum: "when_required"}},
		{name: "disable_https", give: "s3://b?disable_https=true", wantBucket: "b", want: s3store.Options{DisableHTTPS: true}},
		{name: "disable_https with bare endpoint", give: "s3://b?endpoint=minio:9000&disable_https=true", wantBucket: "b",
			want: s3store.Options{Endpoint: "http://minio:9000", DisableHTTPS: true, RequestChecksum: "when_required"}},
		{name: "write-only parameters ignored", give: "s3://b?ssetype=aws:kms&kmskeyid=k&rate_limiter_capacity=10", wantBucket: "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseBackendURL(tt.give, "/base", "/home/u")
			if err != nil {
				t.Fatalf("ParseBackendURL(%q): %v", tt.give, err)
			}
			if u.Scheme != "s3" || u.Raw != tt.give || u.S3.Bucket != tt.wantBucket || u.S3.Prefix != tt.wantPrefix || u.Dir != "" || u.Prefix != "" {
				t.Errorf("ParseBackendURL(%q) = scheme %q raw %q bucket %q prefix %q dir %q file prefix %q; want s3, bucket %q prefix %q",
					tt.give, u.Scheme, u.Raw, u.S3.Bucket, u.S3.Prefix, u.Dir, u.Prefix, tt.wantBucket, tt.wantPrefix)
			}
			want := tt.want
			want.URL, want.Bucket, want.Prefix = tt.give, tt.wantBucket, tt.wantPrefix
			if u.S3 != want {
				t.Errorf("ParseBackendURL(%q).S3 =\n %+v\nwant\n %+v", tt.give, u.S3, want)
			}
		})
	}
}

func TestParseBackendURLErrors(t *testing.T) {
	tests := []struct {
		name string
		give string
		// wantMention must appear in the message.
		wantMention string
	}{
		{"invalid disableSSL value", "s3://bucket?disableSSL=banana", "disableSSL"},
		{"bad boolean use_path_style", "s3://b?use_path_style=yes", "use_path_style"},
		{"bad boolean s3ForcePathStyle", "s3://b?s3ForcePathStyle=2", "s3ForcePathStyle"},
		{"bad boolean hostname_immutable", "s3://b?hostname_immutable=on", "hostname_immutable"},
		{"bad boolean disable_https", "s3://b?disable_https=nope", "disable_https"},
		{"bad boolean accelerate", "s3://b?accelerate=x", "accelerate"},
		{"bad boolean dualstack", "s3://b?dualstack=x", "dualstack"},
		{"bad boolean fips", "s3://b?fips=x", "fips"},
		{"bad boolean anonymous", "s3://b?anonymous=x", "anonymous"},
		{"bad checksum value", "s3://b?request_checksum_calculation=always", "request_checksum_calculation"},
		{"bad response checksum", "s3://b?response_checksum_validation=never", "response_checksum_validation"},
		{"unknown s3 parameter", "s3://b/p?region=eu-west-1&bogus=1", "bogus"},
		{"unknown s3 parameters name the first", "s3://b?zz=1&aa=2", "aa"},
		{"no bucket", "s3:///prefix", "bucket"},
		{"bad query", "s3://b?region=%zz", "query"},
		{"unknown file parameter", "file:///tmp/state?region=x", "region"},
		{"empty file path", "file://", "directory"},
		{"empty file path with query", "file://?prefix=p/", "directory"},
		{"azblob no container", "azblob:///prefix", "container"},
		{"postgres with neither host nor path", "postgres://?table=t", "postgres:///"},
		{"pulumi cloud", "https://api.pulumi.com", "Pulumi Cloud"},
		{"http service", "http://localhost:8080", "Pulumi Cloud"},
		{"unknown scheme", "ftp://host/dir", "ftp"},
		{"no scheme", "my-bucket", "s3://"},
		{"empty", "", "s3://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseBackendURL(tt.give, "/base", "/home/u")
			if err == nil {
				t.Fatalf("ParseBackendURL(%q) = %+v, want an error", tt.give, u)
			}
			if !errors.Is(err, ErrInvalidURL) {
				t.Errorf("ParseBackendURL(%q) error %v does not wrap ErrInvalidURL", tt.give, err)
			}
			if !strings.Contains(err.Error(), tt.wantMention) {
				t.Errorf("ParseBackendURL(%q) error %q does not mention %q", tt.give, err, tt.wantMention)
			}
		})
	}
}

func TestParseBackendURLFile(t *testing.T) {
	tests := []struct {
		name, give, baseDir, home string
		wantDir, wantPrefix       string
		wantErr                   bool
	}{
		{name: "absolute", give: "file:///var/state", wantDir: "/var/state"},
		{name: "percent-encoded", give: "file:///var/my%20state", wantDir: "/var/my state"},
		{name: "absolute cleaned", give: "file:///var/x/../state/", wantDir: "/var/state"},
		{name: "tilde", give: "file://~", home: "/home/u", wantDir: "/home/u"},
		{name: "tilde subdir", give: "file://~/pulumi-state", home: "/home/u", wantDir: "/home/u/pulumi-state"},
		{name: "tilde without home", give: "file://~", wantErr: true},
		{name: "dot relative", give: "file://./state", baseDir: "/work/proj", wantDir: "/work/proj/state"},
		{name: "bare relative", give: "file://state", baseDir: "/work/proj", wantDir: "/work/proj/state"},
		{name: "parent relative", give: "file://../state", baseDir: "/work/proj", wantDir: "/work/state"},
		{name: "dot", give: "file://.", baseDir: "/work/proj", wantDir: "/work/proj"},
		{name: "prefix", give: "file:///var/state?prefix=team/", wantDir: "/var/state", wantPrefix: "team/"},
		{name: "fileblob parameters", give: "file:///var/state?no_tmp_dir=true&metadata=skip&create_dir=true", wantDir: "/var/state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseBackendURL(tt.give, tt.baseDir, tt.home)
			if tt.wantErr {
				if err == nil || !errors.Is(err, ErrInvalidURL) {
					t.Fatalf("ParseBackendURL(%q) = %+v, %v; want an ErrInvalidURL error", tt.give, u, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseBackendURL(%q): %v", tt.give, err)
			}
			want := BackendURL{Raw: tt.give, Scheme: "file", Dir: tt.wantDir, Prefix: tt.wantPrefix}
			if *u != want {
				t.Errorf("ParseBackendURL(%q) =\n %+v\nwant\n %+v", tt.give, *u, want)
			}
		})
	}
}

func writeCreds(t *testing.T, dir, content string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "credentials.json"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestResolveBackendURL(t *testing.T) {
	const creds = `{
    "current": "s3://from-creds?region=eu-west-1",
    "accessTokens": {"https://api.pulumi.com": "pul-xxx"},
    "accounts": {}
}`
	home := t.TempDir()
	writeCreds(t, filepath.Join(home, ".pulumi"), creds)
	pulumiHome := t.TempDir()
	writeCreds(t, pulumiHome, `{"current":"file:///from-pulumi-home"}`)
	credsPath := t.TempDir()
	writeCreds(t, credsPath, `{"current":"s3://from-creds-path"}`)
	encrypted := t.TempDir()
	writeCreds(t, encrypted, `{"$pulumiSecureStore":{"version":1,"keyring":"pulumi","ciphertext":"AAAA"}}`)
	noCurrent := t.TempDir()
	writeCreds(t, noCurrent, `{"accessTokens":{}}`)
	badJSON := t.TempDir()
	writeCreds(t, badJSON, `{"current":`)
	empty := t.TempDir()

	tests := []struct {
		name       string
		project    string
		env        map[string]string
		home       string
		want       string
		wantSource string
		wantErr    string
	}{
		{name: "env first", project: "s3://proj", env: map[string]string{"PULUMI_BACKEND_URL": "s3://env"}, home: home,
			want: "s3://env", wantSource: "PULUMI_BACKEND_URL"},
		{name: "project second", project: "s3://proj", home: home, want: "s3://proj", wantSource: "backend.url in Pulumi.yaml"},
		{name: "credentials in home", home: home, want: "s3://from-creds?region=eu-west-1", wantSource: "credentials.json"},
		{name: "credentials in PULUMI_HOME", env: map[string]string{"PULUMI_HOME": pulumiHome}, home: home,
			want: "file:///from-pulumi-home", wantSource: "credentials.json"},
		{name: "PULUMI_CREDENTIALS_PATH before PULUMI_HOME", env: map[string]string{"PULUMI_HOME": pulumiHome, "PULUMI_CREDENTIALS_PATH": credsPath}, home: home,
			want: "s3://from-creds-path", wantSource: "credentials.json"},
		{name: "encrypted envelope", env: map[string]string{"PULUMI_CREDENTIALS_PATH": encrypted}, home: home, wantErr: "encrypted"},
		{name: "no current", env: map[string]string{"PULUMI_HOME": noCurrent}, wantErr: "no current backend"},
		{name: "bad json", env: map[string]string{"PULUMI_HOME": badJSON}, wantErr: "credentials.json"},
		{name: "missing file", env: map[string]string{"PULUMI_HOME": empty}, wantErr: "pulumi login"},
		{name: "missing home .pulumi", home: empty, wantErr: "pulumi login"},
		{name: "nothing at all", wantErr: "no backend URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			got, src, err := ResolveBackendURL(t.Context(), tt.project, getenv, tt.home)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrNoBackendURL) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ResolveBackendURL = %q, %q, %v; want an error mentioning %q", got, src, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want || src != tt.wantSource {
				t.Errorf("ResolveBackendURL = %q, %q, %v; want %q, %q", got, src, err, tt.want, tt.wantSource)
			}
		})
	}
}

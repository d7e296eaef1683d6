package state

import (
	"errors"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/pkg/state/gsstore"
)

func TestParseBackendURLGS(t *testing.T) {
	tests := []struct {
		give string
		want gsstore.Options
	}{
		{"gs://bucket", gsstore.Options{Bucket: "bucket"}},
		{"gs://bucket/", gsstore.Options{Bucket: "bucket"}},
		{"gs://bucket/team/a", gsstore.Options{Bucket: "bucket", Prefix: "team/a/"}},
		{"gs://bucket//team/a/", gsstore.Options{Bucket: "bucket", Prefix: "team/a/"}},
		// The mux's prefix= goes in front of the URL path.
		{"gs://bucket/sub?prefix=p/", gsstore.Options{Bucket: "bucket", Prefix: "p/sub/"}},
		{"gs://bucket?anonymous=true", gsstore.Options{Bucket: "bucket", Anonymous: true}},
		{"gs://bucket?anonymous=1", gsstore.Options{Bucket: "bucket", Anonymous: true}},
		{"gs://bucket?anonymous=false", gsstore.Options{Bucket: "bucket"}},
		// access_id=- asks gcsblob for an unauthenticated client; any other
		// access id, and private_key_path, only sign URLs.
		{"gs://bucket?access_id=-", gsstore.Options{Bucket: "bucket", Anonymous: true}},
		{"gs://bucket?access_id=sa@p.iam.gserviceaccount.com&private_key_path=/k.pem", gsstore.Options{Bucket: "bucket"}},
		{"gs://bucket?universe_domain=example.eu", gsstore.Options{Bucket: "bucket", UniverseDomain: "example.eu"}},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			u, err := ParseBackendURL(tt.give, "/base", "/home/u")
			if err != nil {
				t.Fatal(err)
			}
			tt.want.URL = tt.give
			if u.Scheme != "gs" || u.Raw != tt.give || u.GS != tt.want {
				t.Errorf("ParseBackendURL(%q) = scheme %q, %+v; want gs, %+v", tt.give, u.Scheme, u.GS, tt.want)
			}
		})
	}
}

func TestParseBackendURLGSErrors(t *testing.T) {
	tests := []struct{ give, wantMention string }{
		{"gs://", "bucket"},
		{"gs:///prefix", "bucket"},
		// gcsblob refuses every parameter it does not know, the S3 ones too.
		{"gs://bucket?region=us", "region"},
		{"gs://bucket?endpoint=http://127.0.0.1:4443", "endpoint"},
		{"gs://bucket?key=x", "key"},
		{"gs://bucket?anonymous=yes", "anonymous"},
		{"gs://bucket?prefix=%zz", "query"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			u, err := ParseBackendURL(tt.give, "/base", "/home/u")
			if err == nil {
				t.Fatalf("ParseBackendURL(%q) = %+v, want an error", tt.give, u)
			}
			if !errors.Is(err, ErrInvalidURL) || !strings.Contains(err.Error(), tt.wantMention) {
				t.Errorf("ParseBackendURL(%q) error %q: want ErrInvalidURL mentioning %q", tt.give, err, tt.wantMention)
			}
		})
	}
}

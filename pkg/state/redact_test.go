package state

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct{ give, want string }{
		{"s3://bucket/prefix?region=us-west-2", "s3://bucket/prefix?region=us-west-2"},
		{"s3://AKIAEXAMPLE:wJalrSECRET@bucket?region=us-east-1", "s3://AKIAEXAMPLE:xxxxx@bucket?region=us-east-1"},
		{"s3://bareKEYSECRET@bucket", "s3://xxxxx@bucket"},
		{"s3://bucket?endpoint=http://user:hunter2@127.0.0.1:9000&region=x", "s3://bucket?endpoint=http://user:xxxxx@127.0.0.1:9000&region=x"},
		{"s3://bucket?endpoint=http%3A%2F%2Fuser%3Ahunter2%40host", "s3://bucket?endpoint=http%3A%2F%2Fuser%3Axxxxx%40host"},
		{"postgres://pulumi:s3cret@db.example.com:5432/state?sslmode=disable", "postgres://pulumi:xxxxx@db.example.com:5432/state?sslmode=disable"},
		{"postgres://db/state?password=s3cret&table=t", "postgres://db/state?password=xxxxx&table=t"},
		{"azblob://container?sig=abcSIG&sv=2020&domain=127.0.0.1:10000", "azblob://container?sig=xxxxx&sv=2020&domain=127.0.0.1:10000"},
		{"gs://bucket?access_token=ya29.TOKEN", "gs://bucket?access_token=xxxxx"},
		{"file:///srv/state", "file:///srv/state"},
		{"s3://user@host/path@x", "s3://xxxxx@host/path@x"},
		{"not a url :// with:secret@at", "not a url :// with:xxxxx@at"},
		{"s3://bucket/key@v", "s3://bucket/key@v"},
	}
	for _, tt := range tests {
		got := Redact(tt.give)
		if got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.give, got, tt.want)
		}
		for _, secret := range []string{"wJalrSECRET", "hunter2", "s3cret", "abcSIG", "ya29.TOKEN", "bareKEYSECRET"} {
			if strings.Contains(got, secret) {
				t.Errorf("Redact(%q) = %q keeps %q", tt.give, got, secret)
			}
		}
	}
}

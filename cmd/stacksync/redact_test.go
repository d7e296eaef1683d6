package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// No command prints a credential written into a backend URL: not in a
// connection error, an invalid-parameter error, or a not-found message.
func TestURLCredentialsNeverPrinted(t *testing.T) {
	// Credentials of the test's own, so the AWS SDK never asks an
	// instance metadata service, and no other chain is read.
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
		"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev")})
	secrets := []string{"SECRETKEY", "hunter2", "PW2"}
	for _, args := range [][]string{
		{"ls", "--timeout", "20s", "--backend", "s3://AKID:SECRETKEY@bucket?endpoint=http://u:hunter2@127.0.0.1:1&region=us-east-1"},
		{"ls", "--backend", "s3://AKID:SECRETKEY@bucket?password=PW2&region=x"},
		{"show", "dev", "--backend", "s3://AKID:SECRETKEY@bucket?region=us-east-1&endpoint=http%3A%2F%2Fu%3Ahunter2%40127.0.0.1%3A1", "--timeout", "20s"},
		{"audit", "--backend", "ftp://u:hunter2@bucket"},
	} {
		code, out, errs := f.run(t, args...)
		if code == exitOK {
			t.Errorf("%v: exit 0, want an error", args[:1])
		}
		for _, s := range secrets {
			if strings.Contains(out, s) || strings.Contains(errs, s) {
				t.Errorf("%v printed %q:\nstdout %q\nstderr %q", args[:1], s, out, errs)
			}
		}
		if strings.Contains(errs, "@") && !strings.Contains(errs, "xxxxx") {
			t.Errorf("%v: stderr %q shows a URL with userinfo unmasked", args[:1], errs)
		}
	}
}

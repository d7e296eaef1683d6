package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/secrets"
)

// Only an awskms stack with a URL asks for its key: the others are left
// as they are, and no AWS request is made for them.
func TestAnnotateKeyOnlyAWSKMS(t *testing.T) {
	keys := secrets.NewKeyAuditor(secrets.AWSOptions{})
	for _, r := range []stackReport{
		{Stack: "pass", Provider: "passphrase"},
		{Stack: "gcp", Provider: "gcpkms", SecretsProvider: "gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k"},
		{Stack: "bare", Provider: "awskms"},
	} {
		want := r
		annotateKey(context.Background(), keys, &r)
		if r != want {
			t.Errorf("%s annotated: %+v", r.Stack, r)
		}
	}
}

// The key section counts the stacks per distinct key and region, and puts
// the keys that will not decrypt first.
func TestKeyTable(t *testing.T) {
	when := time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	var rows []keyRow
	for _, r := range []stackReport{
		{Key: "alias/a", Region: "eu-west-1", KeyState: "Enabled"},
		{Key: "alias/b", Region: "eu-west-1", KeyState: "PendingDeletion", DeletionDate: &when},
		{Key: "alias/a", Region: "eu-west-1", KeyState: "Enabled"},
		{Key: "alias/a", Region: "us-east-1", KeyState: "Disabled"},
		{Key: "alias/a", Region: "eu-west-1", KeyState: "Enabled"},
	} {
		rows = appendKeyRow(rows, r)
	}
	var b bytes.Buffer
	if err := writeKeyTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	want := `
KMS KEY  REGION     KEY STATE        DELETION DATE         STACKS
alias/a  us-east-1  Disabled         -                     1
alias/b  eu-west-1  PendingDeletion  2030-01-02T02:04:05Z  1
alias/a  eu-west-1  Enabled          -                     3
`
	if b.String() != want {
		t.Errorf("key table:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := writeKeyTable(&b, nil); err != nil || b.Len() != 0 {
		t.Errorf("key table of no keys = %q, %v; want nothing", b.String(), err)
	}
}

package state

import (
	"context"
	"errors"
	"testing"

	"github.com/stacksync/stacksync/pkg/state/storetest"
)

func TestProvider(t *testing.T) {
	ctx := context.Background()
	b := historyBucket(t)
	kms := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey)}.Build()
	none := storetest.Checkpoint{Version: 3, NoLatest: true}.Build()
	s := b.Store.(storetest.Mem)
	s.Put(".pulumi/stacks/demo/kms.json", kms, t0)
	s.Put(".pulumi/stacks/demo/dev2.json", none, t0)
	s.Put(".pulumi/stacks/demo/lonely.json", none, t0)
	// The backups fallback skips newer records that record nothing or do
	// not decode, and takes the newest that records a provider.
	pass := storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt)}.Build()
	s.Put(".pulumi/stacks/demo/fallen.json", none, t0)
	s.Put(".pulumi/backups/demo/fallen/fallen.1000000000000000040.json", []byte(`{"version":3,"checkpoint":`), t0)
	s.Put(".pulumi/history/demo/fallen/fallen-1000000000000000030.checkpoint.json", storetest.Checkpoint{Version: 3, Resources: 1}.Build(), t0)
	s.Put(".pulumi/backups/demo/fallen/fallen.1000000000000000020.json", pass, t0)
	s.Put(".pulumi/backups/demo/fallen/fallen.1000000000000000010.json", kms, t0)

	tests := []struct {
		ref      StackRef
		fallback bool
		want     *SecretsProvider
		source   string
		wantErr  error
	}{
		{StackRef{"demo", "dev"}, false, provPassphrase, "checkpoint", nil},
		{StackRef{"demo", "kms"}, true, provKMS, "checkpoint", nil},
		// Backup and history of the same instant: the backup comes first.
		{StackRef{"demo", "dev2"}, true, provKMS, "backup", nil},
		{StackRef{"demo", "dev2"}, false, nil, "", ErrNoProvider},
		{StackRef{"demo", "lonely"}, true, nil, "", ErrNoProvider},
		{StackRef{"demo", "fallen"}, true, provPassphrase, "backup", nil},
		{StackRef{"demo", "missing"}, true, nil, "", ErrStackNotFound},
	}
	for _, tt := range tests {
		res, err := b.provider(ctx, tt.ref, lookupOptions{Fallback: tt.fallback})
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Provider(%s, %v) = %v, want %v", tt.ref, tt.fallback, err, tt.wantErr)
			}
			continue
		}
		if tt.ref.Name == "fallen" && res.Source.Key != ".pulumi/backups/demo/fallen/fallen.1000000000000000020.json" {
			t.Errorf("Provider(fallen) came from %s, want the newest backup that records one", res.Source.Key)
		}
		if err != nil || res.Provider != *tt.want || res.Source.Kind != tt.source {
			t.Errorf("Provider(%s, %v) = %+v from %s, %v; want %+v from %s", tt.ref, tt.fallback, res.Provider, res.Source.Kind, err, *tt.want, tt.source)
		}
	}
}

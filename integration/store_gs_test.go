package integration

import (
	"context"
	"fmt"
	"testing"

	"github.com/stacksync/stacksync/integration/harness"
	"github.com/stacksync/stacksync/pkg/state/gsstore"
	"github.com/stacksync/stacksync/pkg/state/store"
	"github.com/stacksync/stacksync/pkg/state/storetest"
)

// TestStoreContractGS runs the store contract on the gs:// store against
// fake-gcs-server, with and without a key prefix: the suite the directory,
// memory and S3 stores pass.
func TestStoreContractGS(t *testing.T) {
	g := harness.StartGCS(t)
	t.Setenv("STORAGE_EMULATOR_HOST", g.HostPort)
	for i, prefix := range []string{"", "team/a/"} {
		bucket := fmt.Sprintf("contract%d", i)
		g.CreateBucket(t, bucket)
		t.Run("prefix="+prefix, func(t *testing.T) {
			storetest.Contract(t, func(t *testing.T, objects map[string][]byte) store.Store {
				for k, v := range objects {
					g.PutObject(t, bucket, prefix+k, v)
				}
				if prefix != "" {
					g.PutObject(t, bucket, "team/outside", []byte("x")) // next to the prefix, not in it
				}
				st, err := gsstore.New(context.Background(), gsstore.Options{Bucket: bucket, Prefix: prefix})
				if err != nil {
					t.Fatal(err)
				}
				return st
			})
		})
	}
}

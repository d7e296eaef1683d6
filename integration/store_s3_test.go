package integration

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/integration/harness"
	"github.com/stacksync/stacksync/pkg/state/s3store"
	"github.com/stacksync/stacksync/pkg/state/store"
	"github.com/stacksync/stacksync/pkg/state/storetest"
)

// TestStoreContractS3 runs the store contract on the S3 store against
// versitygw, with and without a key prefix: the suite the directory and
// memory stores pass.
func TestStoreContractS3(t *testing.T) {
	s := harness.StartS3(t)
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	for _, k := range []string{"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "credentials"))
	for i, prefix := range []string{"", "team/a/"} {
		bucket := fmt.Sprintf("contract%d", i)
		s.CreateBucket(t, bucket)
		t.Run("prefix="+prefix, func(t *testing.T) {
			storetest.Contract(t, func(t *testing.T, objects map[string][]byte) store.Store {
				for k, v := range objects {
					s.PutObject(t, bucket, prefix+k, v)
				}
				st, err := s3store.New(context.Background(), s3store.Options{
					Bucket: bucket, Prefix: prefix,
					Endpoint: s.Endpoint, Region: s.Region, PathStyle: true,
					RequestChecksum: "when_required",
				})
				if err != nil {
					t.Fatal(err)
				}
				return st
			})
		})
	}
}

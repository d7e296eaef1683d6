package azblobstore

import (
	"testing"

	"github.com/stacksync/stacksync/pkg/state/store"
	"github.com/stacksync/stacksync/pkg/state/storetest"
)

// TestContractFake runs the store contract against the fake service, with
// pages of two blobs so that every listing pages.
func TestContractFake(t *testing.T) {
	for _, prefix := range []string{"", "team/a/"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			storetest.Contract(t, func(t *testing.T, objects map[string][]byte) store.Store {
				f := newFakeAzure(t)
				for k, v := range objects {
					f.put(prefix+k, v, "e1")
				}
				s := f.store(t, Options{Prefix: prefix}, nil)
				s.pageSize = 2
				return s
			})
		})
	}
}

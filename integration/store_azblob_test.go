package integration

import (
	"context"
	"fmt"
	"testing"

	"github.com/stacksync/stacksync/integration/harness"
	"github.com/stacksync/stacksync/pkg/state/azblobstore"
	"github.com/stacksync/stacksync/pkg/state/store"
	"github.com/stacksync/stacksync/pkg/state/storetest"
)

// azureEnvVars are the variables the azblob store reads.
var azureEnvVars = []string{
	"AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN",
	"AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGEBLOB_CONNECTIONSTRING",
	"AZURE_STORAGE_DOMAIN", "AZURE_STORAGE_PROTOCOL", "AZURE_STORAGE_IS_CDN", "AZURE_STORAGE_IS_LOCAL_EMULATOR",
}

// TestStoreContractAzblob runs the store contract on the azblob store
// against Azurite, with and without a key prefix, signing with the
// account key and with a connection string.
func TestStoreContractAzblob(t *testing.T) {
	a := harness.StartAzurite(t)
	forms := []struct {
		name string
		env  map[string]string
		url  bool // the endpoint in the options, as ?domain=&protocol= puts it
	}{
		{"key", map[string]string{"AZURE_STORAGE_ACCOUNT": a.Account, "AZURE_STORAGE_KEY": a.Key}, true},
		{"connection string", map[string]string{"AZURE_STORAGE_CONNECTION_STRING": a.ConnectionString()}, false},
	}
	i := 0
	for _, f := range forms {
		for _, prefix := range []string{"", "team/a/"} {
			container := fmt.Sprintf("contract%d", i)
			i++
			a.CreateContainer(t, container)
			t.Run(f.name+"/prefix="+prefix, func(t *testing.T) {
				storetest.Contract(t, func(t *testing.T, objects map[string][]byte) store.Store {
					for k, v := range objects {
						a.PutObject(t, container, prefix+k, v)
					}
					for _, k := range azureEnvVars {
						t.Setenv(k, f.env[k])
					}
					o := azblobstore.Options{Container: container, Prefix: prefix}
					if f.url {
						o.Domain, o.Protocol = a.HostPort, "http"
					}
					st, err := azblobstore.New(context.Background(), o)
					if err != nil {
						t.Fatal(err)
					}
					return st
				})
			})
		}
	}
}

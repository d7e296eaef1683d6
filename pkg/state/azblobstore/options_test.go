package azblobstore

import (
	"errors"
	"strings"
	"testing"
)

// TestResolve: the endpoint and credential gocloud's azureblob driver
// settles on for each mix of URL parameters and environment.
func TestResolve(t *testing.T) {
	yes, no := true, false
	const conn = "DefaultEndpointsProtocol=http;AccountName=connacct;AccountKey=c2VjcmV0;BlobEndpoint=http://127.0.0.1:1/connacct;"
	tests := []struct {
		name    string
		opts    Options
		env     map[string]string
		cred    credKind
		service string
		wantErr string
	}{
		{"key", Options{}, map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_KEY": "k"},
			credSharedKey, "https://acct.blob.core.windows.net", ""},
		{"key wins over sas and connection string", Options{},
			map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_KEY": "k", "AZURE_STORAGE_SAS_TOKEN": "sv=1", "AZURE_STORAGE_CONNECTION_STRING": conn},
			credSharedKey, "http://acct.blob.core.windows.net", ""}, // gocloud takes the protocol from a connection string it does not use
		{"key without account is not a key", Options{Account: "acct"}, map[string]string{"AZURE_STORAGE_KEY": "k"},
			credDefault, "https://acct.blob.core.windows.net", ""},
		{"sas wins over connection string", Options{},
			map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_SAS_TOKEN": "sv=1", "AZURE_STORAGE_CONNECTION_STRING": conn},
			credSAS, "http://acct.blob.core.windows.net", ""},
		{"connection string gives account and protocol", Options{}, map[string]string{"AZURE_STORAGE_CONNECTION_STRING": conn},
			credConnectionString, "http://connacct.blob.core.windows.net", ""},
		{"the other connection string variable", Options{}, map[string]string{"AZURE_STORAGEBLOB_CONNECTIONSTRING": conn},
			credConnectionString, "http://connacct.blob.core.windows.net", ""},
		{"default chain", Options{}, map[string]string{"AZURE_STORAGE_ACCOUNT": "acct"},
			credDefault, "https://acct.blob.core.windows.net", ""},
		{"environment endpoint", Options{},
			map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_DOMAIN": "127.0.0.1:10000", "AZURE_STORAGE_PROTOCOL": "http"},
			credDefault, "http://127.0.0.1:10000/acct", ""},
		{"localhost is path-style", Options{Domain: "localhost:10000", Protocol: "http"}, map[string]string{"AZURE_STORAGE_ACCOUNT": "acct"},
			credDefault, "http://localhost:10000/acct", ""},
		{"URL overrides environment", Options{Account: "urlacct", Domain: "blob.core.usgovcloudapi.net", Protocol: "https"},
			map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_DOMAIN": "127.0.0.1:1", "AZURE_STORAGE_PROTOCOL": "http"},
			credDefault, "https://urlacct.blob.core.usgovcloudapi.net", ""},
		{"emulator flag", Options{Domain: "azurite:10000", Protocol: "http", LocalEmulator: &yes}, map[string]string{"AZURE_STORAGE_ACCOUNT": "acct"},
			credDefault, "http://azurite:10000/acct", ""},
		{"emulator from environment", Options{Domain: "azurite:10000"}, map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_IS_LOCAL_EMULATOR": "true"},
			credDefault, "https://azurite:10000/acct", ""},
		{"URL turns emulator off", Options{Domain: "azurite:10000", LocalEmulator: &no}, map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_IS_LOCAL_EMULATOR": "1"},
			credDefault, "https://acct.azurite:10000", ""},
		{"cdn", Options{Domain: "cdn.example.com", CDN: &yes}, map[string]string{"AZURE_STORAGE_ACCOUNT": "acct"},
			credDefault, "https://cdn.example.com", ""},
		{"cdn from environment", Options{Domain: "cdn.example.com"}, map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_IS_CDN": "true"},
			credDefault, "https://cdn.example.com", ""},
		{"bad boolean ignored as gocloud does", Options{}, map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_IS_CDN": "maybe"},
			credDefault, "https://acct.blob.core.windows.net", ""},
		{"no account", Options{Container: "c"}, nil, credDefault, "", "set AZURE_STORAGE_ACCOUNT or add ?storage_account="},
		{"bad protocol", Options{}, map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_PROTOCOL": "ftp"}, credDefault, "", `protocol "ftp"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.opts.resolve(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want it to say %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.cred != tt.cred || s.serviceURL != tt.service {
				t.Errorf("cred %d, service %q; want %d, %q", s.cred, s.serviceURL, tt.cred, tt.service)
			}
		})
	}
}

// TestResolveNoAccount: no account anywhere is errNoAccount.
func TestResolveNoAccount(t *testing.T) {
	_, err := Options{Container: "c"}.resolve(func(string) string { return "" })
	if !errors.Is(err, errNoAccount) || !strings.Contains(err.Error(), "azblob://c/") {
		t.Errorf("err %v, want errNoAccount naming azblob://c/", err)
	}
}

// TestHints: a refused credential names the variable that holds it.
func TestHints(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"AZURE_STORAGE_ACCOUNT": "a", "AZURE_STORAGE_KEY": "k"}, "AZURE_STORAGE_KEY"},
		{map[string]string{"AZURE_STORAGE_ACCOUNT": "a", "AZURE_STORAGE_SAS_TOKEN": "sv=1"}, "AZURE_STORAGE_SAS_TOKEN"},
		{map[string]string{"AZURE_STORAGEBLOB_CONNECTIONSTRING": "AccountName=a;AccountKey=k"}, "AZURE_STORAGEBLOB_CONNECTIONSTRING"},
		{map[string]string{"AZURE_STORAGE_ACCOUNT": "a"}, "az login"},
	} {
		s, err := Options{}.resolve(func(k string) string { return tt.env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if h := s.hint(); !strings.Contains(h, tt.want) {
			t.Errorf("%v: hint %q does not name %s", tt.env, h, tt.want)
		}
	}
}

package state

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/pkg/state/azblobstore"
)

func TestParseBackendURLAzblob(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		give string
		want azblobstore.Options
	}{
		{"azblob://state", azblobstore.Options{Container: "state"}},
		{"azblob://state/", azblobstore.Options{Container: "state"}},
		{"azblob://state/team/a", azblobstore.Options{Container: "state", Prefix: "team/a/"}},
		{"azblob://state/team/a/?prefix=x-", azblobstore.Options{Container: "state", Prefix: "x-team/a/"}},
		{"azblob://state?domain=127.0.0.1:10000&protocol=http", azblobstore.Options{Container: "state", Domain: "127.0.0.1:10000", Protocol: "http"}},
		{"azblob://state?storage_account=acct&cdn=true&localemu=false", azblobstore.Options{Container: "state", Account: "acct", CDN: &yes, LocalEmulator: &no}},
		{"azblob://state?domain=blob.core.chinacloudapi.cn&protocol=https", azblobstore.Options{Container: "state", Domain: "blob.core.chinacloudapi.cn", Protocol: "https"}},
	}
	for _, tt := range tests {
		u, err := ParseBackendURL(tt.give, "/base", "/home/u")
		if err != nil {
			t.Errorf("ParseBackendURL(%q): %v", tt.give, err)
			continue
		}
		tt.want.URL = tt.give
		if u.Scheme != "azblob" || u.Raw != tt.give || !reflect.DeepEqual(u.Azure, tt.want) {
			t.Errorf("ParseBackendURL(%q) = %s %+v, want %+v", tt.give, u.Scheme, u.Azure, tt.want)
		}
	}
}

// TestParseBackendURLAzblobRefusals: what gocloud's azureblob opener
// refuses is refused, naming the parameter.
func TestParseBackendURLAzblobRefusals(t *testing.T) {
	tests := []struct{ give, mention string }{
		{"azblob://", "container"},
		{"azblob://c?region=x", "region"},
		{"azblob://c?key=.pulumi/meta.yaml", "key"},
		{"azblob://c?domain=a&domain=b", "domain"},
		{"azblob://c?protocol=ftp", "protocol"},
		{"azblob://c?cdn=maybe", "cdn"},
		{"azblob://c?localemu=2", "localemu"},
		{"azblob://c?domain=%zz", "query"},
	}
	for _, tt := range tests {
		u, err := ParseBackendURL(tt.give, "/base", "/home/u")
		if !errors.Is(err, ErrInvalidURL) || !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("ParseBackendURL(%q) = %+v, %v; want ErrInvalidURL naming %q", tt.give, u, err, tt.mention)
		}
	}
}

package s3store

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// listPage answers a ListObjectsV2 with keys, and with IsTruncated and
// NextContinuationToken as given ("" leaves the token out).
func listPage(w http.ResponseWriter, keys []string, truncated bool, token string) {
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "<Contents><Key>%s</Key><Size>2</Size><LastModified>%s</LastModified></Contents>", k, fakeModTime.Format("2006-01-02T15:04:05.000Z"))
	}
	if token != "" {
		fmt.Fprintf(&b, "<NextContinuationToken>%s</NextContinuationToken>", token)
	}
	w.Header().Set("Content-Type", "application/xml")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bkt</Name><KeyCount>%d</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>%t</IsTruncated>%s</ListBucketResult>`, len(keys), truncated, b.String())
}

// TestS3ListPages: a listing follows its continuation tokens to the end,
// and fails, naming the listing, on a page that repeats a token (it would
// never end) or says more follow with no token (it would end early).
func TestS3ListPages(t *testing.T) {
	type page struct {
		keys      []string
		truncated bool
		token     string
	}
	tests := []struct {
		name     string
		pages    []page // answered in turn; the last one again after the end
		wantKeys []string
		wantReqs int
		wantErr  string
	}{{
		name:     "three pages",
		pages:    []page{{[]string{"a"}, true, "t1"}, {[]string{"b"}, true, "t2"}, {[]string{"c"}, false, ""}},
		wantKeys: []string{"a", "b", "c"}, wantReqs: 3,
	}, {
		name:     "token repeated at once",
		pages:    []page{{[]string{"a"}, true, "t1"}, {[]string{"b"}, true, "t1"}},
		wantKeys: []string{"a", "b"}, wantReqs: 2,
		wantErr: "listing s3://bkt/.pulumi/: page 2 repeats the continuation token of an earlier page, so the listing would never end",
	}, {
		name:     "token cycle",
		pages:    []page{{nil, true, "t1"}, {nil, true, "t2"}, {nil, true, "t1"}},
		wantReqs: 3,
		wantErr:  "page 3 repeats the continuation token",
	}, {
		name:     "truncated without a token",
		pages:    []page{{[]string{"a"}, true, ""}},
		wantKeys: []string{"a"}, wantReqs: 1,
		wantErr: "listing s3://bkt/.pulumi/: page 1 says more keys follow (IsTruncated) but gives no continuation token",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeS3(t)
			f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
				p := tt.pages[min(i, len(tt.pages)-1)]
				if want := map[bool]string{true: "", false: tt.pages[max(i-1, 0)].token}[i == 0]; r.URL.Query().Get("continuation-token") != want {
					t.Errorf("request %d asks for token %q, want %q", i, r.URL.Query().Get("continuation-token"), want)
				}
				listPage(w, p.keys, p.truncated, p.token)
				return true
			}
			s := f.store(t, Options{})
			var keys []string
			start := time.Now()
			err := s.List(context.Background(), ".pulumi/", true, func(o store.Object) error { keys = append(keys, o.Key); return nil })
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("err %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n")):
				t.Errorf("err %v, want one line holding %q", err, tt.wantErr)
			}
			if !reflect.DeepEqual(keys, tt.wantKeys) {
				t.Errorf("listed %v, want %v", keys, tt.wantKeys)
			}
			if n := len(f.requests()); n != tt.wantReqs {
				t.Errorf("%d requests, want %d", n, tt.wantReqs)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

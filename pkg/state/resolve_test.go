package state

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/state/storetest"
)

// TestProviderOneRound: a restore's requests go out together — meta.yaml,
// the variant listing, the speculative read and the lock listing — and a
// second round follows only when the guess was wrong.
func TestProviderOneRound(t *testing.T) {
	ctx := context.Background()
	cp := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey)}.Build()
	tests := []struct {
		name    string
		objs    map[string][]byte
		ref     StackRef
		locks   bool
		want    []string
		wantMax int
		locked  bool
	}{
		{
			name: "plain checkpoint: one round of four",
			objs: map[string][]byte{metaKey: []byte("version: 1\n"), ".pulumi/stacks/demo/dev.json": cp,
				".pulumi/locks/organization/demo/dev/1.json": []byte("{}")},
			ref: StackRef{"demo", "dev"}, locks: true, locked: true,
			want: []string{
				"GET .pulumi/meta.yaml", "GET .pulumi/stacks/demo/dev.json",
				"LIST .pulumi/locks/organization/demo/dev/", "LIST .pulumi/stacks/demo/dev.json",
			},
			wantMax: 4,
		},
		{
			name:    "no lock listing asked",
			objs:    map[string][]byte{metaKey: []byte("version: 1\n"), ".pulumi/stacks/demo/dev.json": cp},
			ref:     StackRef{"demo", "dev"},
			want:    []string{"GET .pulumi/meta.yaml", "GET .pulumi/stacks/demo/dev.json", "LIST .pulumi/stacks/demo/dev.json"},
			wantMax: 3,
		},
		{
			name: "zstd is current: a second round reads it",
			objs: map[string][]byte{metaKey: []byte("version: 1\n"), ".pulumi/stacks/demo/dev.json.zst": storetest.Zstd(t, cp)},
			ref:  StackRef{"demo", "dev"}, locks: true,
			want: []string{
				"GET .pulumi/meta.yaml", "GET .pulumi/stacks/demo/dev.json", "GET .pulumi/stacks/demo/dev.json.zst",
				"LIST .pulumi/locks/organization/demo/dev/", "LIST .pulumi/stacks/demo/dev.json",
			},
			wantMax: 4,
		},
		{
			name: "legacy layout: a second round with its keys",
			objs: map[string][]byte{metaKey: []byte("version: 0\n"), ".pulumi/stacks/dev.json": cp},
			ref:  StackRef{"demo", "dev"}, locks: true,
			want: []string{
				"GET .pulumi/meta.yaml", "GET .pulumi/stacks/demo/dev.json", "GET .pulumi/stacks/dev.json",
				"LIST .pulumi/locks/dev/", "LIST .pulumi/locks/organization/demo/dev/",
				"LIST .pulumi/stacks/demo/dev.json", "LIST .pulumi/stacks/dev.json",
			},
			wantMax: 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := storetest.NewMem()
			for k, v := range tt.objs {
				mem.Put(k, v, t0)
			}
			rs := storetest.NewRecorder(mem, 200*time.Millisecond)
			res, err := newBackend(nil, rs).provider(ctx, tt.ref, lookupOptions{Locks: tt.locks})
			if err != nil || !sameProvider(&res.Provider, provKMS) {
				t.Fatalf("Provider = %+v, %v", res.Provider, err)
			}
			if res.Locked != tt.locked {
				t.Errorf("Locked = %v, want %v", res.Locked, tt.locked)
			}
			if got := rs.Requests(); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if rs.MaxInFlight() != tt.wantMax {
				t.Errorf("%d requests in flight at most, want %d together", rs.MaxInFlight(), tt.wantMax)
			}
		})
	}
}

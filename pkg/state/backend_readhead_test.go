package state

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/pkg/state/store"
	"github.com/stacksync/stacksync/pkg/state/storetest"
)

// TestReadHeadBytes checks that ReadHead reads each checkpoint whole, once,
// with one request: pulumi decodes the whole file, so a provider, a
// duplicate key or trailing garbage anywhere in it matters.
func TestReadHeadBytes(t *testing.T) {
	ctx := context.Background()
	small := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey), Resources: 1}.Build()
	large := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey), ResourceBytes: 20 << 20}.Build()
	after := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey), ResourceBytes: 4 << 20, ProviderLast: true}.Build()
	largeGzip := storetest.Gzip(t, large)
	tests := []struct {
		name string
		data []byte
	}{
		{"small checkpoint", small},
		{"20 MB checkpoint", large},
		{"20 MB gzip checkpoint", largeGzip},
		{"provider after 4 MB of resources", after},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := storetest.NewMem()
			mem.Put(".pulumi/stacks/demo/dev.json", tt.data, t0)
			cs := storetest.NewCounting(mem)
			b := newBackend(nil, cs)
			h, err := b.ReadHead(ctx, ".pulumi/stacks/demo/dev.json")
			if err != nil {
				t.Fatal(err)
			}
			if !sameProvider(h.Provider, provKMS) {
				t.Errorf("Provider = %s, want %s", provString(h.Provider), provString(provKMS))
			}
			if got := cs.Bytes(); got != int64(len(tt.data)) {
				t.Errorf("store served %d bytes, want the object's %d", got, len(tt.data))
			}
			if got := cs.Reads(); got != 1 {
				t.Errorf("%d ReadRange calls, want 1", got)
			}
		})
	}
}

func TestReadHeadNameDoesNotDecide(t *testing.T) {
	// Compression comes from the magic bytes, whatever the key says.
	ctx := context.Background()
	plain := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey)}.Build()
	b, s := memBackend(nil)
	s.Put(".pulumi/stacks/demo/a.json", storetest.Gzip(t, plain), t0)
	s.Put(".pulumi/stacks/demo/b.json.gz", storetest.Zstd(t, plain), t0)
	s.Put(".pulumi/stacks/demo/c.json.zst", plain, t0)
	for key, comp := range map[string]string{
		".pulumi/stacks/demo/a.json":     CompressionGzip,
		".pulumi/stacks/demo/b.json.gz":  CompressionZstd,
		".pulumi/stacks/demo/c.json.zst": CompressionNone,
	} {
		h, err := b.ReadHead(ctx, key)
		if err != nil || h.Compression != comp || !sameProvider(h.Provider, provKMS) {
			t.Errorf("ReadHead(%s) = %+v %s, %v; want %s", key, h, provString(h.Provider), err, comp)
		}
	}
}

func TestReadHeadErrors(t *testing.T) {
	ctx := context.Background()
	b, s := memBackend(nil)
	s.Put(".pulumi/stacks/demo/bad.json", []byte(`{"version":3,"checkpoint":`), t0)
	s.Put(".pulumi/stacks/demo/new.json", []byte(`{"version":9,"checkpoint":{}}`), t0)
	b.Store = storetest.NewFaults(s, map[string]error{".pulumi/stacks/demo/vanished.json": store.ErrNotFound}, nil)
	for key, want := range map[string]error{
		".pulumi/stacks/demo/missing.json":  store.ErrNotFound,
		".pulumi/stacks/demo/vanished.json": store.ErrNotFound,
		".pulumi/stacks/demo/bad.json":      ErrCorrupt,
		".pulumi/stacks/demo/new.json":      ErrUnsupportedVersion,
	} {
		_, err := b.ReadHead(ctx, key)
		if !errors.Is(err, want) {
			t.Errorf("ReadHead(%s) = %v, want %v", key, err, want)
		}
		if err != nil && !strings.Contains(err.Error(), key) {
			t.Errorf("ReadHead(%s) error %q does not name the object", key, err)
		}
	}
}

// TestReadHeadStoreErrors checks that a store's error reaches the caller as
// itself (not found, access denied), not as corrupt state.
func TestReadHeadStoreErrors(t *testing.T) {
	ctx := context.Background()
	small := storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt)}.Build()
	after := storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt), ResourceBytes: 128 << 10, ProviderLast: true}.Build()
	mem := storetest.NewMem()
	for _, k := range []string{"gone", "denied", "denied-gz", "cut", "cut-gz"} {
		mem.Put(k, small, t0)
	}
	mem.Put("cut", after, t0)
	mem.Put("cut-gz", storetest.Gzip(t, after), t0)
	mem.Put("denied-gz", storetest.Gzip(t, small), t0)
	reset := errors.New("connection reset by peer")
	b := newBackend(nil, storetest.NewFaults(mem,
		map[string]error{"gone": store.ErrNotFound, "denied": store.ErrAccessDenied, "denied-gz": store.ErrAccessDenied},
		map[string]error{"cut": reset, "cut-gz": reset},
	))
	for key, want := range map[string]error{"gone": store.ErrNotFound, "denied": store.ErrAccessDenied, "denied-gz": store.ErrAccessDenied, "cut": reset, "cut-gz": reset} {
		_, err := b.ReadHead(ctx, key)
		if !errors.Is(err, want) || errors.Is(err, ErrCorrupt) {
			t.Errorf("ReadHead(%s) = %v, want %v and not corrupt", key, err, want)
		}
		if err != nil && !strings.Contains(err.Error(), "mem://"+key) {
			t.Errorf("ReadHead(%s) error %q does not name the object", key, err)
		}
	}
}

package state

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/stacksync/stacksync/pkg/state/storetest"
)

// Run with: go test ./pkg/state/ -run '^$' -bench . -benchmem

// BenchmarkReadHead reads a checkpoint Pulumi wrote (secrets_providers
// before resources) of 1 KB and of 100 MB, whole, as pulumi does, and
// reports the bytes read and the allocations per op: the allocations stay
// the same whatever the size.
func BenchmarkReadHead(b *testing.B) {
	ctx := context.Background()
	for _, size := range []struct {
		name  string
		bytes int
	}{{"1KB", 1 << 10}, {"100MB", 100 << 20}} {
		b.Run(size.name, func(b *testing.B) {
			c := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey)}
			data := c.Build()
			if size.bytes > len(data) {
				c.ResourceBytes = size.bytes - len(data)
				data = c.Build()
			}
			mem := storetest.NewMem()
			const key = ".pulumi/stacks/demo/dev.json"
			mem.Put(key, data, t0)
			cs := storetest.NewCounting(mem)
			be := newBackend(nil, cs)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h, err := be.ReadHead(ctx, key)
				if err != nil || h.Provider == nil {
					b.Fatalf("ReadHead = %+v, %v", h, err)
				}
			}
			b.ReportMetric(float64(cs.Bytes())/float64(b.N), "bytes_read/op")
			b.ReportMetric(float64(len(data)), "object_bytes")
		})
	}
}

// BenchmarkDecodeHead decodes the same ~200 KB checkpoint in each format
// Pulumi has written.
func BenchmarkDecodeHead(b *testing.B) {
	compact := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey), Resources: 200}.Build()
	formats := []struct {
		name string
		data []byte
	}{
		{"compact", compact},
		{"indented", indent(b, compact)},
		{"gzip", storetest.Gzip(b, compact)},
		{"zstd", storetest.Zstd(b, compact)},
		{"compact-provider-last", storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey), Resources: 200, ProviderLast: true}.Build()},
	}
	for _, f := range formats {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				h, err := decodeHead(bytes.NewReader(f.data))
				if err != nil || h.Provider == nil {
					b.Fatalf("decodeCheckpoint = %+v, %v", h, err)
				}
			}
		})
	}
}

// BenchmarkListStacks lists a project-mode bucket of 10,000 stacks (100
// projects of 100), each with a .bak, a tags file and, for one in ten, a
// .json.gz variant as well.
func BenchmarkListStacks(b *testing.B) {
	ctx := context.Background()
	mem := storetest.NewMem()
	mem.Put(metaKey, []byte("version: 1\n"), t0)
	obj := []byte("{}")
	for p := 0; p < 100; p++ {
		for s := 0; s < 100; s++ {
			base := fmt.Sprintf(".pulumi/stacks/project-%03d/stack-%03d", p, s)
			mem.Put(base+".json", obj, t0)
			mem.Put(base+".json.bak", obj, t0)
			mem.Put(base+".pulumi-tags", obj, t0)
			if s%10 == 0 {
				mem.Put(base+".json.gz", obj, tN(1))
			}
		}
	}
	be := newBackend(nil, mem)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l, err := be.ListStacks(ctx)
		if err != nil || len(l.Stacks) != 10000 {
			b.Fatalf("ListStacks = %d stacks, %v", len(l.Stacks), err)
		}
	}
}

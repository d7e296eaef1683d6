package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/pkg/state/storetest"
)

// pulumiFixture is one checkpoint the real pulumi CLI wrote, as
// testdata/checkpoints/MANIFEST.md describes it.
type pulumiFixture struct {
	file, compression, stack string
	version                  int
	provider                 *SecretsProvider
	keyID                    string
}

// readPulumiFixtures parses MANIFEST.md: the table gives compression,
// version and stack; each file's "Expected provider" list gives the
// provider. The generator rewrites both together, so the test follows a
// regeneration.
func readPulumiFixtures(t testing.TB) []pulumiFixture {
	t.Helper()
	manifest, err := os.ReadFile(filepath.Join("testdata", "checkpoints", "MANIFEST.md"))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("no testdata/checkpoints/MANIFEST.md; run make fixtures")
	}
	if err != nil {
		t.Fatal(err)
	}
	unquote := func(s string) string { return strings.Trim(strings.TrimSpace(s), "`") }
	byFile := map[string]*pulumiFixture{}
	var order []string
	var cur *pulumiFixture
	for _, line := range strings.Split(string(manifest), "\n") {
		switch {
		case strings.HasPrefix(line, "| `"):
			cells := strings.Split(line, "|")
			if len(cells) < 10 {
				t.Fatalf("MANIFEST.md: short table row %q", line)
			}
			f := &pulumiFixture{file: unquote(cells[1]), compression: strings.TrimSpace(cells[3]), stack: unquote(cells[6])}
			if f.stack == "—" {
				f.stack = ""
			}
			if _, err := fmt.Sscan(strings.TrimSpace(cells[5]), &f.version); err != nil {
				t.Fatalf("MANIFEST.md: version in %q: %v", line, err)
			}
			byFile[f.file] = f
			order = append(order, f.file)
		case strings.HasPrefix(line, "### `"):
			cur = byFile[unquote(strings.TrimPrefix(line, "### "))]
			if cur == nil {
				t.Fatalf("MANIFEST.md: section %q has no table row", line)
			}
		case cur != nil && strings.HasPrefix(line, "- "):
			k, v, _ := strings.Cut(strings.TrimPrefix(line, "- "), ":")
			v = unquote(v)
			if k == "none" {
				continue
			}
			if cur.provider == nil {
				cur.provider = &SecretsProvider{}
			}
			switch k {
			case "type":
				cur.provider.Type = v
			case "url":
				cur.provider.URL = v
			case "encryptedkey":
				cur.provider.EncryptedKey = v
			case "salt":
				cur.provider.Salt = v
			case "key id":
				cur.keyID = v
			}
		}
	}
	var fixtures []pulumiFixture
	for _, f := range order {
		fixtures = append(fixtures, *byFile[f])
	}
	if len(fixtures) == 0 {
		t.Fatal("MANIFEST.md lists no fixtures")
	}
	return fixtures
}

// TestDecodeHeadPulumiFixtures decodes checkpoints the real pulumi wrote.
func TestDecodeHeadPulumiFixtures(t *testing.T) {
	compressions := map[string]string{"none": CompressionNone, "gzip": CompressionGzip, "zstd": CompressionZstd}
	for _, f := range readPulumiFixtures(t) {
		t.Run(f.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "checkpoints", f.file))
			if err != nil {
				t.Fatal(err)
			}
			h, err := decodeHead(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if !sameProvider(h.Provider, f.provider) {
				t.Errorf("Provider = %s, want %s", provString(h.Provider), provString(f.provider))
			}
			if h.Version != f.version || h.Stack != f.stack || h.Compression != compressions[f.compression] {
				t.Errorf("decodeCheckpoint = version %d stack %q compression %q; want %d %q %q", h.Version, h.Stack, h.Compression, f.version, f.stack, f.compression)
			}
			if h.Provider != nil {
				if got := h.Provider.KeyID(); got != f.keyID {
					t.Errorf("KeyID = %q, want %q", got, f.keyID)
				}
				if !h.Provider.Known() {
					t.Errorf("Known() = false")
				}
			}
			// Through a backend too, under a name that says nothing.
			mem := storetest.NewMem()
			mem.Put(".pulumi/stacks/demo/x.json", data, t0)
			cs := storetest.NewCounting(mem)
			bh, err := newBackend(nil, cs).ReadHead(context.Background(), ".pulumi/stacks/demo/x.json")
			if err != nil || !sameProvider(bh.Provider, f.provider) || cs.Bytes() != int64(len(data)) {
				t.Errorf("ReadHead = %s, %v after %d bytes; want %s after %d", provString(bh.Provider), err, cs.Bytes(), provString(f.provider), len(data))
			}
		})
	}
}

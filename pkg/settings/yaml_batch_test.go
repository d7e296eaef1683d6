package settings

import (
	"fmt"
	"strings"
	"testing"
)

// A large config is parsed in batches, not as one tree (which costs many
// times the file's size); an alias to an anchor in another batch
// falls back to one tree and still edits right.
func TestEditYAMLParsesInBatches(t *testing.T) {
	var b strings.Builder
	b.WriteString("# big\nconfig:\n  p:first: &x anchored\n")
	for i := range 2000 {
		fmt.Fprintf(&b, "  p:k%d: v%d\n  p:s%d:\n    secure: v1:S%d=\n", i, i, i, i)
	}
	in := b.String()
	p := newYAMLParser(1 << 10)
	d, err := p.parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if d.whole || len(p.memo) < 50 {
		t.Errorf("parsed whole=%v in %d batches; want batches of about 1 KiB", d.whole, len(p.memo))
	}
	if d.secure != 2000 {
		t.Errorf("secure values = %d, want 2000", d.secure)
	}

	aliased := in + "  p:last: *x\n"
	d, err = newYAMLParser(1 << 10).parse([]byte(aliased))
	if err != nil || !d.whole {
		t.Fatalf("alias across batches: whole=%v, %v; want a parse as one tree", d != nil && d.whole, err)
	}
	out, res, err := editBatched([]byte(aliased), passphrase, editOptions{}, 1<<10)
	if err != nil || res.Action != ActionUpdated || string(out) != "encryptionsalt: "+testSalt+"\n"+aliased {
		t.Fatalf("edit with an alias across batches: %v, %v", res.Action, err)
	}
}

// BenchmarkEditYAMLLarge edits a 5 MB settings file of many config keys;
// allocations per op show what a large file costs.
func BenchmarkEditYAMLLarge(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("# settings\nconfig:\n")
	for i := 0; sb.Len() < 5<<20; i++ {
		fmt.Fprintf(&sb, "  demo:key%d: value %d\n  demo:secret%d:\n    secure: v1:AAAAAAAAAAAAAAAA%d==\n  # comment\n", i, i, i, i)
		fmt.Fprintf(&sb, "  demo:cert%d: |\n    -----BEGIN-----\n    MIIB%d\n    -----END-----\n", i, i)
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := edit(data, passphrase, editOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

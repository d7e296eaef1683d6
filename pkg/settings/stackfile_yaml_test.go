package settings

import (
	"fmt"
	"strings"
	"testing"
)

// checkYAMLEdit refuses an edit that changes anything but the fields, in
// batches as in one piece.
func TestCheckYAMLEditRefuses(t *testing.T) {
	in := "config:\n  a: b\n  c: |\n    x\nenvironment:\n  - e\n"
	want := [3]fieldState{2: {present: true, str: true, value: "v1:x"}}
	tests := []struct{ name, edited, err string }{
		{"right", "encryptionsalt: v1:x\n" + in, ""},
		{"config value changed", "encryptionsalt: v1:x\nconfig:\n  a: c\n  c: |\n    x\nenvironment:\n  - e\n", "other keys changed"},
		{"block scalar lost its line break", "encryptionsalt: v1:x\nconfig:\n  a: b\n  c: |-\n    x\nenvironment:\n  - e\n", "other keys changed"},
		{"entry dropped", "encryptionsalt: v1:x\nconfig:\n  a: b\n  c: |\n    x\n", "other keys changed"},
		{"order changed", "encryptionsalt: v1:x\nenvironment:\n  - e\nconfig:\n  a: b\n  c: |\n    x\n", "other keys changed"},
		{"field inserted into a block scalar", "config:\n  a: b\n  c: |\n    x\n    encryptionsalt: v1:x\nenvironment:\n  - e\n", "fields differ"},
		{"field wrong", "encryptionsalt: v1:y\n" + in, "fields differ"},
		{"field missing", in, "fields differ"},
		{"not YAML", "encryptionsalt: v1:x\nconfig: [\n", "not valid YAML"},
	}
	for _, tt := range tests {
		for _, batch := range []int{1, batchBytes} {
			p := newYAMLParser(batch)
			orig, err := p.parse([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			err = checkYAMLEdit(p, orig, []byte(tt.edited), want)
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("%s (batch %d): %v", tt.name, batch, err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "cannot edit this file safely")):
				t.Errorf("%s (batch %d): %v; want a refusal saying %q", tt.name, batch, err, tt.err)
			}
		}
	}
}

// A large config is parsed in batches, not as one tree (which costs some
// twenty times the file's size); an alias to an anchor in another batch
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
	out, res, err := edit([]byte(aliased), passphrase, EditOptions{}, 1<<10)
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
		if _, _, err := Edit(data, passphrase, EditOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

package settings

import (
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

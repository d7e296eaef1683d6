package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestRestoreJSON(t *testing.T) {
	f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev")})
	write(t, filepath.Join(f.project, "Pulumi.dev.yaml"), "config:\n  demo:password: hunter2\n")
	code, out, _ := f.run(t, "restore", "dev", "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var rs []map[string]any
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if len(rs) != 1 || rs[0]["stack"] != "dev" || rs[0]["action"] != "updated" || rs[0]["provider"] != "awskms" || rs[0]["key"] != "alias/pulumi_backend_software" {
		t.Errorf("unexpected result %v", rs)
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("a config value was printed: %s", out)
	}
}

func TestRestoreJSONSaysWhetherItWrote(t *testing.T) {
	f := newFixture(t, map[string]string{".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev")})
	for _, tc := range []struct {
		args    []string
		action  string
		written bool
	}{
		{[]string{"--check"}, "created", false},
		{nil, "created", true},
		{nil, "unchanged", false},
	} {
		code, out, _ := f.run(t, append([]string{"restore", "dev", "-o", "json"}, tc.args...)...)
		var rs []map[string]any
		if err := json.Unmarshal([]byte(out), &rs); err != nil || len(rs) != 1 {
			t.Fatalf("exit %d, output %s", code, out)
		}
		if rs[0]["action"] != tc.action || rs[0]["written"] != tc.written {
			t.Errorf("restore %v: action %v written %v, want %s %v", tc.args, rs[0]["action"], rs[0]["written"], tc.action, tc.written)
		}
	}
}

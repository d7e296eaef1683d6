package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestLs(t *testing.T) {
	// Checkpoints of garbage: ls must not read them.
	f := newFixture(t, map[string]string{
		".pulumi/stacks/demo/dev.json":              "garbage, not a checkpoint",
		".pulumi/stacks/demo/prod.json.gz":          "not gzip",
		".pulumi/stacks/demo/prod.json":             "also garbage",
		".pulumi/stacks/web/api.json.zst":           "\x28\xb5\x2f\xfd truncated zstd",
		".pulumi/stacks/web/gone.json.bak":          "x",
		".pulumi/stacks/web/api.pulumi-tag":         "x",
		".pulumi/stacks/legacy.json":                "x",
		".pulumi/locks/organization/web/api/1.json": "lock",
	})
	code, out, errs := auditRun(t, f, "ls")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if want := "legacy\ndemo/dev\ndemo/prod\nweb/api\n"; out != want {
		t.Errorf("ls:\n%s\nwant:\n%s", out, want)
	}
	code, out, _ = auditRun(t, f, "ls", "--project", "web")
	if code != exitOK || out != "legacy\nweb/api\n" {
		t.Errorf("ls --project web: exit %d\n%s", code, out)
	}
	code, out, _ = auditRun(t, f, "ls", "-o", "json")
	var entries []map[string]any
	if err := json.Unmarshal([]byte(out), &entries); code != exitOK || err != nil {
		t.Fatalf("ls -o json: exit %d, %v\n%s", code, err, out)
	}
	if len(entries) != 4 || entries[0]["legacy"] != true || entries[1]["project"] != "demo" || entries[1]["stack"] != "dev" {
		t.Errorf("ls -o json = %v", entries)
	}
	for _, e := range entries {
		for _, k := range []string{"project", "stack", "object", "size", "last_modified", "legacy"} {
			if _, ok := e[k]; !ok {
				t.Errorf("entry %v lacks %s", e, k)
			}
		}
	}
	if code, _, errs := auditRun(t, f, "ls", "extra"); code != exitUsage || !strings.Contains(errs, "unexpected argument") {
		t.Errorf("ls extra: exit %d, %q", code, errs)
	}
	// The same garbage makes audit fail, which shows ls did not read it.
	if code, _, _ := auditRun(t, f, "audit"); code != exitError {
		t.Errorf("audit of the garbage backend: exit %d, want 1", code)
	}
}

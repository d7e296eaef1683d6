package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestAuditHistoryFlippedFirst(t *testing.T) {
	f := newFixture(t, map[string]string{
		".pulumi/stacks/demo/a.json": cloudCheckpoint("a"),
		".pulumi/stacks/demo/m.json": passphraseCheckpoint("m"),
		".pulumi/stacks/demo/z.json": passphraseCheckpoint("z"),
		// z was awskms until a later update re-encrypted it.
		".pulumi/backups/demo/z/z.1700000000000000000.json":            cloudCheckpoint("z"),
		".pulumi/history/demo/z/z-1800000000000000000.checkpoint.json": passphraseCheckpoint("z"),
		// a got a new data key: not a flip.
		".pulumi/backups/demo/a/a.1700000000000000000.json": auditCloudCheckpoint("a", kmsURL, "b3RoZXJrZXk="),
	})

	code, out, errs := auditRun(t, f, "audit", "--history")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 5 || !strings.Contains(lines[0], "FLIPPED FROM") {
		t.Fatalf("table:\n%s", out)
	}
	if got := strings.Fields(lines[1]); len(got) < 3 || got[1] != "z" || !strings.Contains(lines[1], "awskms "+kmsURL) {
		t.Errorf("first row %q, want z flipped from awskms %s", lines[1], kmsURL)
	}
	if got := strings.Fields(lines[2]); got[1] != "a" {
		t.Errorf("second row %q, want a (unflipped stacks by name)", lines[2])
	}
	if !strings.HasSuffix(lines[4], "; 1 flipped") {
		t.Errorf("summary %q lacks the flipped count", lines[4])
	}

	_, out, _ = auditRun(t, f, "audit", "--history", "-o", "json")
	o := decodeAuditJSON(t, out)
	var order []string
	for _, s := range o.Stacks {
		order = append(order, str(s["stack"]))
	}
	if !slices.Equal(order, []string{"z", "a", "m"}) {
		t.Errorf("JSON order %v, want [z a m]", order)
	}
	z := o.Stacks[0]
	if z["flipped"] != true || z["provider"] != "passphrase" || z["previous_provider"] != "awskms" || z["previous_secretsprovider"] != kmsURL ||
		!strings.HasSuffix(str(z["previous_object"]), filepath.Join("backups", "demo", "z", "z.1700000000000000000.json")) {
		t.Errorf("z = %v", z)
	}
	for _, s := range o.Stacks[1:] {
		if s["flipped"] != false {
			t.Errorf("%v flipped", s["stack"])
		}
		if _, ok := s["previous_provider"]; ok {
			t.Errorf("%v has previous_provider", s["stack"])
		}
	}
	if o.Summary["flipped"] != 1.0 {
		t.Errorf("summary %v", o.Summary)
	}

	// Without --history: sorted by name, nothing flipped.
	_, out, _ = auditRun(t, f, "audit", "-o", "json")
	o = decodeAuditJSON(t, out)
	order = nil
	for _, s := range o.Stacks {
		order = append(order, str(s["stack"]))
		if s["flipped"] != false {
			t.Errorf("%v flipped without --history", s["stack"])
		}
	}
	if !slices.Equal(order, []string{"a", "m", "z"}) {
		t.Errorf("order without --history %v", order)
	}
}

func TestAuditHistoryFlag(t *testing.T) {
	f := newFixture(t, map[string]string{
		".pulumi/stacks/demo/z.json": passphraseCheckpoint("z"),
		// z was awskms, then passphrase, then awskms again, then
		// passphrase: the bounded search sees the same provider at
		// both ends and misses the flips; --history=all finds the
		// newest awskms record.
		".pulumi/backups/demo/z/z.1600000000000000000.json":            passphraseCheckpoint("z"),
		".pulumi/backups/demo/z/z.1700000000000000000.json":            cloudCheckpoint("z"),
		".pulumi/history/demo/z/z-1800000000000000000.checkpoint.json": passphraseCheckpoint("z"),
	})
	for _, tc := range []struct {
		flag    string
		flipped bool
	}{{"--history", false}, {"--history=true", false}, {"--history=all", true}} {
		code, out, errs := auditRun(t, f, "audit", tc.flag, "-o", "json")
		if code != exitOK {
			t.Fatalf("%s: exit %d, stderr %q", tc.flag, code, errs)
		}
		z := decodeAuditJSON(t, out).Stacks[0]
		if z["flipped"] != tc.flipped {
			t.Errorf("%s: flipped %v, want %v", tc.flag, z["flipped"], tc.flipped)
		}
		if tc.flipped && !strings.HasSuffix(str(z["previous_object"]), "z.1700000000000000000.json") {
			t.Errorf("%s: previous_object %v, want the awskms backup", tc.flag, z["previous_object"])
		}
		// The table has the history column in every history mode.
		if _, out, _ := auditRun(t, f, "audit", tc.flag); !strings.Contains(out, "FLIPPED FROM") {
			t.Errorf("%s: table without FLIPPED FROM:\n%s", tc.flag, out)
		}
	}
	if _, out, _ := auditRun(t, f, "audit", "--history=false"); strings.Contains(out, "FLIPPED FROM") {
		t.Errorf("--history=false: table has FLIPPED FROM:\n%s", out)
	}
	for _, args := range [][]string{{"--history=some"}, {"--history", "all"}} {
		code, _, errs := auditRun(t, f, append([]string{"audit"}, args...)...)
		if code != exitUsage || strings.Count(errs, "\n") < 1 {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, errs)
		}
	}
}

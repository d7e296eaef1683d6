package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/stacksync/stacksync/pkg/state"
	"github.com/stacksync/stacksync/pkg/state/storetest"
)

// auditIssueFields are the stack fields the issue names as stable, in its
// order.
var auditIssueFields = []string{"project", "stack", "provider", "secretsprovider", "key", "region", "encryptedkey_sha256",
	"object", "size", "last_modified", "compression", "checkpoint_version", "locked", "error"}

const (
	auditLock = `{"pid":4242,"username":"alice","hostname":"ci-1","timestamp":"2026-03-20T10:11:12Z"}`
	// auditOtherURL is a second awskms provider, by key id.
	auditOtherURL = "awskms://1234abcd-12ab-34cd-56ef-1234567890ab?region=eu-west-1"
)

// auditCloudCheckpoint is the checkpoint of stack demo/<stack>, whose
// provider is the cloud URL url with the data key key.
func auditCloudCheckpoint(stack, url, key string) string {
	return string(storetest.Checkpoint{Version: 3, Stack: "organization/demo/" + stack, Provider: storetest.Cloud(url, key)}.Build())
}

func auditFP(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:12]
}

// auditRun runs stacksync in the fixture's project directory against its
// file:// backend.
func auditRun(t *testing.T, f *fixture, args ...string) (int, string, string) {
	t.Helper()
	return f.run(t, append(args, "--backend", "file://"+f.backend)...)
}

// auditMixed is a backend with one stack per kind the outputs must show.
func auditMixed(t *testing.T) *fixture {
	return newFixture(t, map[string]string{
		".pulumi/stacks/demo/dev.json":                               cloudCheckpoint("dev"),
		".pulumi/stacks/demo/prod.json":                              passphraseCheckpoint("prod"),
		".pulumi/stacks/demo/bare.json":                              `{"version":0,"checkpoint":{"stack":"organization/demo/bare"}}`,
		".pulumi/stacks/demo/zipped.json.gz":                         string(storetest.Gzip(t, []byte(auditCloudCheckpoint("zipped", auditOtherURL, kmsKey)))),
		".pulumi/stacks/web/api.json.zst":                            string(storetest.Zstd(t, []byte(passphraseCheckpoint("api")))),
		".pulumi/stacks/demo/prod.json.bak":                          cloudCheckpoint("prod"),
		".pulumi/locks/organization/demo/prod/0b6e8c2a-1111.json":    auditLock,
		".pulumi/backups/demo/prod/prod.1700000000000000000.json":    cloudCheckpoint("prod"),
		".pulumi/history/demo/prod/prod-1700000000000000000.history": "{}",
	})
}

// auditJSONOut is the JSON output, decoded loosely so field names are
// checked as written.
type auditJSONOut struct {
	Stacks  []map[string]any `json:"stacks"`
	Summary map[string]any   `json:"summary"`
}

func decodeAuditJSON(t *testing.T, out string) auditJSONOut {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &top); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out)
	}
	var keys []string
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if !slices.Equal(keys, []string{"stacks", "summary"}) {
		t.Errorf("top-level keys %v, want [stacks summary]", keys)
	}
	var o auditJSONOut
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestAuditJSON(t *testing.T) {
	f := auditMixed(t)
	code, out, errs := auditRun(t, f, "audit", "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	o := decodeAuditJSON(t, out)
	type row struct {
		project, stack, provider, url, key, region, fp, compression string
		version                                                     float64
		locked                                                      bool
	}
	want := []row{
		{"demo", "bare", "none", "", "", "", "", "none", 0, false},
		{"demo", "dev", "awskms", kmsURL, "alias/pulumi_backend_software", "us-west-2", auditFP(kmsKey), "none", 3, false},
		{"demo", "prod", "passphrase", "", "", "", "", "none", 3, true},
		{"demo", "zipped", "awskms", auditOtherURL, "1234abcd-12ab-34cd-56ef-1234567890ab", "eu-west-1", auditFP(kmsKey), "gzip", 3, false},
		{"web", "api", "passphrase", "", "", "", "", "zstd", 3, false},
	}
	if len(o.Stacks) != len(want) {
		t.Fatalf("%d stacks, want %d:\n%s", len(o.Stacks), len(want), out)
	}
	for i, w := range want {
		s := o.Stacks[i]
		for _, k := range auditIssueFields {
			if _, ok := s[k]; !ok {
				t.Errorf("stack %d lacks field %q: %v", i, k, s)
			}
		}
		got := row{str(s["project"]), str(s["stack"]), str(s["provider"]), str(s["secretsprovider"]), str(s["key"]), str(s["region"]),
			str(s["encryptedkey_sha256"]), str(s["compression"]), num(s["checkpoint_version"]), s["locked"] == true}
		if got != w {
			t.Errorf("stack %d = %+v, want %+v", i, got, w)
		}
		if s["error"] != "" {
			t.Errorf("stack %d: error %v", i, s["error"])
		}
		if _, err := time.Parse(time.RFC3339, str(s["last_modified"])); err != nil {
			t.Errorf("stack %d: last_modified %v: %v", i, s["last_modified"], err)
		}
		obj := str(s["object"])
		if !strings.HasPrefix(obj, filepath.Join(f.backend, ".pulumi", "stacks", w.project, w.stack+".json")) {
			t.Errorf("stack %d: object %q", i, obj)
		}
		if num(s["size"]) <= 0 {
			t.Errorf("stack %d: size %v", i, s["size"])
		}
		if s["flipped"] != false {
			t.Errorf("stack %d: flipped %v without --history", i, s["flipped"])
		}
	}
	wantSummary := map[string]any{
		"stacks":  5.0,
		"flipped": 0.0,
		"locked":  1.0,
		"errors":  0.0,
		"providers": map[string]any{"awskms": 2.0, "gcpkms": 0.0, "azurekeyvault": 0.0, "hashivault": 0.0,
			"passphrase": 2.0, "service": 0.0, "none": 1.0, "unknown": 0.0},
	}
	if !reflect.DeepEqual(o.Summary, wantSummary) {
		t.Errorf("summary %v, want %v", o.Summary, wantSummary)
	}
	if strings.Contains(out, kmsKey) || strings.Contains(out, salt) {
		t.Errorf("the output holds an encrypted key or salt:\n%s", out)
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func num(v any) float64 {
	n, _ := v.(float64)
	return n
}

func TestAuditCSV(t *testing.T) {
	f := auditMixed(t)
	code, out, errs := auditRun(t, f, "audit", "-o", "csv", "--history")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("output is not CSV: %v\n%s", err, out)
	}
	wantHeader := []string{"project", "stack", "provider", "secretsprovider", "key", "region", "encryptedkey_sha256",
		"object", "size", "last_modified", "compression", "checkpoint_version", "locked", "legacy",
		"flipped", "previous_provider", "previous_secretsprovider", "error"}
	if !slices.Equal(rows[0], wantHeader) {
		t.Fatalf("header %q, want %q", rows[0], wantHeader)
	}
	// The issue's fields come first, in its order, before any extra column
	// but "error", which stays last.
	var issueOrder []string
	for _, h := range rows[0] {
		if slices.Contains(auditIssueFields, h) {
			issueOrder = append(issueOrder, h)
		}
	}
	if !slices.Equal(issueOrder, auditIssueFields) {
		t.Errorf("issue fields in header order %q, want %q", issueOrder, auditIssueFields)
	}

	// Each row agrees with the JSON output, column by column.
	_, jout, _ := auditRun(t, f, "audit", "-o", "json", "--history")
	o := decodeAuditJSON(t, jout)
	if len(rows)-1 != len(o.Stacks) {
		t.Fatalf("%d CSV rows, %d JSON stacks", len(rows)-1, len(o.Stacks))
	}
	for i, r := range rows[1:] {
		if len(r) != len(wantHeader) {
			t.Errorf("row %d has %d columns", i, len(r))
			continue
		}
		js := o.Stacks[i]
		for c, h := range wantHeader {
			v, ok := js[h]
			var want string
			switch x := v.(type) {
			case nil:
				if ok {
					t.Errorf("row %d: JSON %s is null", i, h)
				}
			case string:
				want = x
			case float64:
				want = strconv.FormatFloat(x, 'f', -1, 64)
			case bool:
				want = strconv.FormatBool(x)
			}
			if h == "last_modified" {
				jt, err1 := time.Parse(time.RFC3339Nano, want)
				ct, err2 := time.Parse(time.RFC3339, r[c])
				if err1 != nil || err2 != nil || !jt.Truncate(time.Second).Equal(ct) {
					t.Errorf("row %d: last_modified %q, JSON %q", i, r[c], want)
				}
				continue
			}
			if r[c] != want {
				t.Errorf("row %d (%s/%s): column %s = %q, JSON %q", i, r[0], r[1], h, r[c], want)
			}
		}
	}
	// --history: prod, whose backup is awskms, is flipped and first.
	if rows[1][1] != "prod" || rows[1][14] != "true" || rows[1][15] != "awskms" || rows[1][16] != kmsURL {
		t.Errorf("first row %q, want the flipped prod stack", rows[1])
	}
}

func TestAuditTable(t *testing.T) {
	f := auditMixed(t)
	code, out, errs := auditRun(t, f, "audit")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 7 {
		t.Fatalf("table has %d lines, want header, 5 stacks and a summary:\n%s", len(lines), out)
	}
	head := strings.Fields(lines[0])
	for _, h := range []string{"PROJECT", "STACK", "PROVIDER", "KEY", "REGION", "COMPRESSION", "VERSION", "LOCKED", "ERROR"} {
		if !slices.Contains(head, h) {
			t.Errorf("header %q lacks %s", lines[0], h)
		}
	}
	// Columns are aligned: every row has its provider where the header has
	// PROVIDER.
	col := strings.Index(lines[0], "PROVIDER")
	for _, l := range lines[1:6] {
		if len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("row not aligned under PROVIDER: %q", l)
		}
	}
	wantRows := [][]string{
		{"demo", "bare", "none"},
		{"demo", "dev", "awskms", "alias/pulumi_backend_software", "us-west-2", auditFP(kmsKey), "none", "3", "-"},
		{"demo", "prod", "passphrase", "-", "-", "-", "none", "3", "locked"},
		{"demo", "zipped", "awskms", "1234abcd-12ab-34cd-56ef-1234567890ab", "eu-west-1"},
		{"web", "api", "passphrase", "-", "-", "-", "zstd"},
	}
	for i, w := range wantRows {
		if got := strings.Fields(lines[i+1]); len(got) < len(w) || !slices.Equal(got[:len(w)], w) {
			t.Errorf("row %d = %q, want it to start with %q", i, got, w)
		}
	}
	if want := "5 stacks: awskms 2, passphrase 2, none 1; 1 locked"; lines[6] != want {
		t.Errorf("summary %q, want %q", lines[6], want)
	}
	if errs != "" {
		t.Errorf("stderr %q: progress must stay silent when stderr is not a terminal", errs)
	}
}

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

func TestAuditExitCodes(t *testing.T) {
	clean := map[string]string{
		".pulumi/stacks/demo/dev.json":  cloudCheckpoint("dev"),
		".pulumi/stacks/demo/prod.json": passphraseCheckpoint("prod"),
		".pulumi/stacks/demo/bare.json": `{"version":0,"checkpoint":{"stack":"organization/demo/bare"}}`,
	}
	kmsOnly := map[string]string{".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev")}
	withBroken := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for a, b := range clean {
			m[a] = b
		}
		return m
	}
	tests := []struct {
		name    string
		objects map[string]string
		args    []string
		code    int
		stdout  string
		stderr  string
	}{
		{"clean", clean, nil, exitOK, "3 stacks", ""},
		{"fail-on passphrase,none", clean, []string{"--fail-on", "passphrase,none"}, exitDrift, "passphrase 1, none 1", ""},
		{"fail-on with spaces", clean, []string{"--fail-on", "none, passphrase"}, exitDrift, "", ""},
		{"fail-on none only", clean, []string{"--fail-on=none"}, exitDrift, "", ""},
		{"fail-on matches nothing", clean, []string{"--fail-on", "gcpkms,azurekeyvault,hashivault,service,unknown"}, exitOK, "", ""},
		{"fail-on passphrase,none on kms only", kmsOnly, []string{"--fail-on", "passphrase,none"}, exitOK, "1 stack: awskms 1", ""},
		{"fail-on json", clean, []string{"--fail-on", "awskms", "-o", "json"}, exitDrift, `"stacks"`, ""},
		{"fail-on unknown name", clean, []string{"--fail-on", "passphrase,kms"}, exitUsage, "", `unknown provider "kms"`},
		{"fail-on empty item", clean, []string{"--fail-on", "passphrase,"}, exitUsage, "", "unknown provider"},
		{"bad output", clean, []string{"-o", "yaml"}, exitUsage, "", "want table, json or csv"},
		{"bad jobs", clean, []string{"-j", "0"}, exitUsage, "", "-j"},
		{"positional", clean, []string{"dev"}, exitUsage, "", "unexpected argument"},
		{"bad project", clean, []string{"--project", "../x"}, exitError, "", "project name"},
		{"jobs 1", clean, []string{"-j", "1"}, exitOK, "3 stacks", ""},
		{"project with no stacks fails the gate", clean, []string{"--project", "other", "--fail-on", "passphrase"}, exitError, "0 stacks", "no stacks found in backend"},
		{"corrupt stack", withBroken(".pulumi/stacks/demo/broken.json", `{"version":3,"checkpoint":{"latest":{"secrets`), nil, exitError, "4 stacks", ""},
		{"corrupt stack json", withBroken(".pulumi/stacks/demo/broken.json", `{"version":3,"checkpoint":{"latest":{"secrets`), []string{"-o", "json"}, exitError, `"error": "`, ""},
		{"unreadable yaml stack", withBroken(".pulumi/stacks/demo/old.yaml", "version: 3\n"), nil, exitError, "1 unreadable", ""},
		{"future version", withBroken(".pulumi/stacks/demo/new.json", `{"version":9,"checkpoint":{}}`), nil, exitError, "checkpoint version 9", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.objects)
			code, out, errs := auditRun(t, f, append([]string{"audit"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errs)
			}
			if !strings.Contains(out, tt.stdout) || !strings.Contains(errs, tt.stderr) {
				t.Errorf("stdout %q (want %q), stderr %q (want %q)", out, tt.stdout, errs, tt.stderr)
			}
		})
	}
}

// An unreadable stack is reported and the audit goes on: every other stack
// is still classified.
func TestAuditGoesOnAfterError(t *testing.T) {
	f := newFixture(t, map[string]string{
		".pulumi/stacks/demo/a.json":      cloudCheckpoint("a"),
		".pulumi/stacks/demo/b.json":      `{"version":3,"checkpoint":`,
		".pulumi/stacks/demo/c.json.gz":   "\x1f\x8b\x08 not really gzip",
		".pulumi/stacks/demo/d.json":      passphraseCheckpoint("d"),
		".pulumi/stacks/demo/e.yml":       "x: 1\n",
		".pulumi/stacks/demo/f.json.zst":  string(storetest.Zstd(t, []byte(passphraseCheckpoint("f")))),
		".pulumi/stacks/demo/f.json.json": "ignored",
	})
	code, out, _ := auditRun(t, f, "audit", "-o", "json", "-j", "2")
	if code != exitError {
		t.Errorf("exit %d, want 1", code)
	}
	o := decodeAuditJSON(t, out)
	got := map[string]string{}
	for _, s := range o.Stacks {
		p := str(s["provider"])
		if str(s["error"]) != "" {
			p += " (error)"
		}
		got[str(s["stack"])] = p
	}
	want := map[string]string{"a": "awskms", "b": "unknown (error)", "c": "unknown (error)", "d": "passphrase",
		"e": "unknown (error)", "f": "passphrase", "f.json": "unknown (error)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stacks %v, want %v", got, want)
	}
	if o.Summary["errors"] != 4.0 {
		t.Errorf("summary %v, want 4 errors", o.Summary)
	}
}

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

func TestShow(t *testing.T) {
	f := newFixture(t, map[string]string{
		".pulumi/stacks/demo/dev.json": passphraseCheckpoint("dev"),
		".pulumi/locks/organization/demo/dev/3f0c2a9e-7d4b-4a8e-9b1c-0e5f6a7b8c9d.json": auditLock,
		".pulumi/backups/demo/dev/dev.1700000000000000000.json":                         cloudCheckpoint("dev"),
		".pulumi/backups/demo/dev/dev.1750000000000000000.json.gz":                      string(storetest.Gzip(t, []byte(auditCloudCheckpoint("dev", auditOtherURL, kmsKey)))),
		".pulumi/history/demo/dev/dev-1800000000000000000.checkpoint.json":              passphraseCheckpoint("dev"),
		".pulumi/history/demo/dev/dev-1800000000000000000.history.json":                 `{"kind":"update"}`,
		".pulumi/stacks/demo/kms.json.gz":                                               string(storetest.Gzip(t, []byte(cloudCheckpoint("kms")))),
	})
	code, out, errs := auditRun(t, f, "show", "dev")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	t.Logf("show dev:\n%s", out)
	for _, want := range []string{
		"stack:        demo/dev\n",
		"provider:     passphrase\n",
		"checkpoint version 3",
		"locks:        1\n",
		"  alice@ci-1 pid 4242 since 2026-03-20T10:11:12Z\n",
		"history:      newest first\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q", want)
		}
	}
	// History lines, newest first.
	var hist []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "  20") {
			hist = append(hist, strings.Join(strings.Fields(l)[:3], " "))
		}
	}
	wantHist := []string{
		time.Unix(0, 1800000000000000000).UTC().Format(time.RFC3339) + " history passphrase",
		time.Unix(0, 1750000000000000000).UTC().Format(time.RFC3339) + " backup awskms",
		time.Unix(0, 1700000000000000000).UTC().Format(time.RFC3339) + " backup awskms",
	}
	if !slices.Equal(hist, wantHist) {
		t.Errorf("history lines %q, want %q", hist, wantHist)
	}
	if !strings.Contains(out, "awskms 1234abcd-12ab-34cd-56ef-1234567890ab data key "+auditFP(kmsKey)) {
		t.Errorf("history lacks the key id and fingerprint of the gz backup")
	}

	code, out, _ = auditRun(t, f, "show", "demo/dev", "-o", "json")
	if code != exitOK {
		t.Fatalf("show -o json: exit %d", code)
	}
	var d struct {
		Provider string `json:"provider"`
		Locked   bool   `json:"locked"`
		Locks    []struct {
			Username  string    `json:"username"`
			Hostname  string    `json:"hostname"`
			PID       int       `json:"pid"`
			Timestamp time.Time `json:"timestamp"`
		} `json:"locks"`
		History []struct {
			Time            time.Time `json:"time"`
			Kind            string    `json:"kind"`
			Provider        string    `json:"provider"`
			SecretsProvider string    `json:"secretsprovider"`
		} `json:"history"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("show -o json: %v\n%s", err, out)
	}
	if d.Provider != "passphrase" || !d.Locked || len(d.Locks) != 1 || d.Locks[0].Username != "alice" || d.Locks[0].Hostname != "ci-1" ||
		d.Locks[0].PID != 4242 || !d.Locks[0].Timestamp.Equal(time.Date(2026, 3, 20, 10, 11, 12, 0, time.UTC)) {
		t.Errorf("show json = %+v", d)
	}
	if len(d.History) != 3 || d.History[0].Provider != "passphrase" || d.History[1].SecretsProvider != auditOtherURL || d.History[2].SecretsProvider != kmsURL {
		t.Errorf("history = %+v", d.History)
	}
	for i := 1; i < len(d.History); i++ {
		if !d.History[i].Time.Before(d.History[i-1].Time) {
			t.Errorf("history not newest first: %+v", d.History)
		}
	}

	code, out, _ = auditRun(t, f, "show", "kms")
	for _, want := range []string{"provider:     awskms\n", "url:          " + kmsURL + "\n", "key:          alias/pulumi_backend_software\n",
		"region:       us-west-2\n", "data key:     sha256 " + auditFP(kmsKey), "gzip, checkpoint version 3", "locks:        none\n",
		"history:      no backups or history checkpoints\n"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("show kms: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}
	if strings.Contains(out, kmsKey) {
		t.Errorf("show printed the encrypted key")
	}

	if code, _, errs := auditRun(t, f, "show", "nope"); code != exitError || !strings.Contains(errs, "project demo has: dev, kms") {
		t.Errorf("show nope: exit %d, stderr %q", code, errs)
	}
	if code, _, _ := auditRun(t, f, "show"); code != exitUsage {
		t.Errorf("show without a stack: exit %d, want 2", code)
	}
}

func TestCheck(t *testing.T) {
	backend := map[string]string{
		".pulumi/stacks/demo/dev.json":   cloudCheckpoint("dev"),
		".pulumi/stacks/demo/prod.json":  cloudCheckpoint("prod"),
		".pulumi/stacks/demo/stage.json": passphraseCheckpoint("stage"),
		".pulumi/stacks/demo/extra.json": passphraseCheckpoint("extra"),
		".pulumi/stacks/web/api.json":    passphraseCheckpoint("api"),
	}
	good := "secretsprovider: " + kmsURL + "\nencryptedkey: " + kmsKey + "\nconfig:\n  demo:x: y\n"
	tests := []struct {
		name   string
		files  map[string]string // settings files in the project dir
		args   []string
		code   int
		status map[string]string // stack → status
	}{
		{"ok", map[string]string{"dev": good}, nil, exitOK, map[string]string{"dev": "ok"}},
		{"ok passphrase", map[string]string{"stage": "encryptionsalt: " + salt + "\n"}, nil, exitOK, map[string]string{"stage": "ok"}},
		{"differs", map[string]string{"dev": good, "prod": "secretsprovider: " + kmsURL + "\nencryptedkey: b3RoZXI=\n"}, nil, exitDrift,
			map[string]string{"dev": "ok", "prod": "differs"}},
		{"differs provider", map[string]string{"stage": "secretsprovider: " + auditOtherURL + "\nencryptedkey: b3RoZXI=\n"}, nil, exitDrift,
			map[string]string{"stage": "differs"}},
		{"missing fields", map[string]string{"stage": "config:\n  demo:x: y\n"}, nil, exitDrift, map[string]string{"stage": "missing-fields"}},
		{"no stack", map[string]string{"dev": good, "ghost": "config: {}\n"}, nil, exitDrift, map[string]string{"dev": "ok", "ghost": "no-stack"}},
		{"all stacks", map[string]string{"dev": good}, []string{"--all-stacks"}, exitDrift,
			map[string]string{"dev": "ok", "prod": "no-file", "stage": "no-file", "extra": "no-file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, backend)
			before := map[string]string{}
			for stack, content := range tt.files {
				write(t, filepath.Join(f.project, "Pulumi."+stack+".yaml"), content)
				before[stack] = content
			}
			code, out, errs := auditRun(t, f, append([]string{"check", "-o", "json"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s\n%s", code, tt.code, out, errs)
			}
			var findings []struct {
				Project, Stack, File, Status, Detail string
			}
			if err := json.Unmarshal([]byte(out), &findings); err != nil {
				t.Fatalf("check -o json: %v\n%s", err, out)
			}
			got := map[string]string{}
			for _, fd := range findings {
				if fd.Project != "demo" {
					t.Errorf("finding of project %q: %+v", fd.Project, fd)
				}
				got[fd.Stack] = fd.Status
			}
			if !reflect.DeepEqual(got, tt.status) {
				t.Errorf("statuses %v, want %v\n%s", got, tt.status, out)
			}
			// Text output says the same and exits the same.
			code2, text, _ := auditRun(t, f, append([]string{"check"}, tt.args...)...)
			if code2 != code {
				t.Errorf("text exit %d, json exit %d", code2, code)
			}
			for stack, status := range tt.status {
				if !strings.Contains(text, ": "+status) || !strings.Contains(text, stack) {
					t.Errorf("text output lacks %s: %s:\n%s", stack, status, text)
				}
			}
			// check never writes.
			for stack, content := range before {
				if got := readSettings(t, f, stack); got != content {
					t.Errorf("check changed Pulumi.%s.yaml to %q", stack, got)
				}
			}
		})
	}
}

func readSettings(t *testing.T, f *fixture, stack string) string {
	t.Helper()
	return f.settings(t, stack)
}

// check walks the given directories for projects, and a directory with no
// project is an error.
func TestCheckDirs(t *testing.T) {
	f := newFixture(t, map[string]string{
		".pulumi/stacks/demo/dev.json": cloudCheckpoint("dev"),
		".pulumi/stacks/web/api.json":  passphraseCheckpoint("api"),
	})
	write(t, filepath.Join(f.project, "Pulumi.dev.yaml"), "secretsprovider: "+kmsURL+"\nencryptedkey: "+kmsKey+"\n")
	web := filepath.Join(f.root, "repo", "services", "web")
	write(t, filepath.Join(web, "Pulumi.yaml"), "name: web\nruntime: yaml\n")
	write(t, filepath.Join(web, "Pulumi.api.yaml"), "config: {}\n")
	write(t, filepath.Join(f.root, "repo", "node_modules", "x", "Pulumi.yaml"), "name: ignored\nruntime: yaml\n")

	code, out, errs := auditRun(t, f, "check", ".", filepath.Join(f.root, "repo"))
	if code != exitDrift || !strings.Contains(out, "Pulumi.dev.yaml: ok") || !strings.Contains(out, "missing-fields") || strings.Contains(out, "ignored") {
		t.Errorf("check two dirs: exit %d\n%s\n%s", code, out, errs)
	}
	empty := filepath.Join(f.root, "empty")
	write(t, filepath.Join(empty, "README"), "x")
	if code, _, errs := auditRun(t, f, "check", empty); code != exitError || !strings.Contains(errs, "no Pulumi project") {
		t.Errorf("check of a dir with no project: exit %d, %q", code, errs)
	}
}

// oldAuditOutput is the output as the audit wrote it before it streamed:
// the reports sorted flipped first (with history), encoded whole by
// json.Encoder, csv.Writer or text/tabwriter. It is the oracle the
// streamed output must match byte for byte.
func oldAuditOutput(t *testing.T, format string, history bool, reports []state.StackReport) string {
	t.Helper()
	reports = slices.Clone(reports)
	if history {
		sort.SliceStable(reports, func(i, j int) bool { return reports[i].Flipped && !reports[j].Flipped })
	}
	sum := auditSummary{Providers: map[string]int{}}
	for _, c := range state.ProviderClasses {
		sum.Providers[c] = 0
	}
	for _, r := range reports {
		sum.count(r)
	}
	var b bytes.Buffer
	switch format {
	case "json":
		if reports == nil {
			reports = []state.StackReport{}
		}
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Stacks  []state.StackReport `json:"stacks"`
			Summary auditSummary        `json:"summary"`
		}{reports, sum}); err != nil {
			t.Fatal(err)
		}
	case "csv":
		cw := csv.NewWriter(&b)
		_ = cw.Write(pinnedCSVHeader)
		for _, r := range reports {
			_ = cw.Write(safeAll(pinnedCSVRow(r)))
		}
		cw.Flush()
	default:
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(auditTableHead(history), "\t"))
		for _, r := range reports {
			fmt.Fprintln(tw, strings.Join(auditTableRow(r, history), "\t"))
		}
		_ = tw.Flush()
		a := &auditReport{history: history, summary: sum}
		fmt.Fprintln(&b, a.summaryLine())
	}
	return b.String()
}

// auditSample returns n reports in listing order, with every field set in
// some, multi-byte and control characters among them, and some flipped.
func auditSample(n int) []state.StackReport {
	classes := state.ProviderClasses
	var out []state.StackReport
	for i := range n {
		r := state.StackReport{
			Project: fmt.Sprintf("p%02d", i/7), Stack: fmt.Sprintf("stack-%03d", i), Provider: classes[i%len(classes)],
			Object: fmt.Sprintf("s3://b/.pulumi/stacks/p/stack-%03d.json", i), Size: int64(100 * i),
			LastModified: time.Unix(int64(1700000000+i), 0), Compression: []string{"none", "gzip", "zstd"}[i%3],
			CheckpointVersion: 3, Locked: i%5 == 0, Legacy: i%11 == 0,
		}
		if r.Provider == "awskms" {
			r.SecretsProvider, r.Key, r.Region, r.EncryptedKeySHA = kmsURL+"&x=<&>", "alias/ключ", "eu-west-1", "0123456789ab"
		}
		if i%6 == 1 {
			r.Flipped, r.PreviousProvider, r.PreviousSecretsProvider = true, "awskms", strings.Repeat("é", i%13)+kmsURL
			r.PreviousObject = "s3://b/.pulumi/backups/x"
		}
		if i%9 == 4 {
			r.Error, r.Provider = "corrupt \x1b[31m state\tat byte "+strconv.Itoa(i), "unknown"
		}
		out = append(out, r)
	}
	return out
}

func TestAuditReportMatchesWholeEncoding(t *testing.T) {
	for _, format := range []string{"json", "csv", "table"} {
		for _, history := range []bool{false, true} {
			var flippedOnly []state.StackReport
			for _, r := range auditSample(40) {
				if r.Flipped {
					flippedOnly = append(flippedOnly, r)
				}
			}
			for _, sample := range [][]state.StackReport{nil, auditSample(1), auditSample(2), auditSample(40), flippedOnly} {
				for _, limit := range []int{0, 1, 500} { // memory only; a temporary file at once; after 500 bytes
					n := len(sample)
					name := fmt.Sprintf("%s history=%v n=%d limit=%d", format, history, n, limit)
					t.Setenv("TMPDIR", t.TempDir())
					reports := sample
					a := newAuditReport(format, history)
					a.flipped.limit, a.others.limit = limit, limit
					for _, r := range reports {
						if err := a.add(r); err != nil {
							t.Fatalf("%s: add: %v", name, err)
						}
					}
					spilled := a.others.f != nil || a.flipped.f != nil
					if (n == 0 || limit == 0 || n == 40) && spilled != (limit > 0 && n == 40) {
						// 40 reports are far above 500 bytes.
						t.Errorf("%s: spilled to a file %v", name, spilled)
					}
					var b bytes.Buffer
					if err := a.writeTo(&b); err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					a.close()
					if want := oldAuditOutput(t, format, history, reports); b.String() != want {
						t.Errorf("%s: output differs from the whole encoding\ngot:\n%s\nwant:\n%s", name, b.String(), want)
					}
					if left, _ := os.ReadDir(os.Getenv("TMPDIR")); len(left) != 0 {
						t.Errorf("%s: left %d files in TMPDIR", name, len(left))
					}
				}
			}
		}
	}
}

// A spool that cannot create its temporary file fails the audit with a
// message saying what to do.
func TestAuditSpoolUnwritableTMPDIR(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	a := newAuditReport("json", false)
	a.others.limit = 1
	var err error
	for _, r := range auditSample(3) {
		if err = a.add(r); err != nil {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "TMPDIR") {
		t.Errorf("add with an unwritable TMPDIR: %v; want an error naming TMPDIR", err)
	}
	a.close()
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

// pinnedCSVHeader and pinnedCSVRow are the CSV contract written out by
// hand: the columns are derived from state.StackReport's fields, and a
// change there must not move or rename a column unnoticed.
var pinnedCSVHeader = []string{"project", "stack", "provider", "secretsprovider", "key", "region", "encryptedkey_sha256",
	"object", "size", "last_modified", "compression", "checkpoint_version", "locked", "legacy",
	"flipped", "previous_provider", "previous_secretsprovider", "error"}

func pinnedCSVRow(r state.StackReport) []string {
	return []string{r.Project, r.Stack, r.Provider, r.SecretsProvider, r.Key, r.Region, r.EncryptedKeySHA,
		r.Object, strconv.FormatInt(r.Size, 10), r.LastModified.UTC().Format(time.RFC3339), r.Compression,
		strconv.Itoa(r.CheckpointVersion), strconv.FormatBool(r.Locked), strconv.FormatBool(r.Legacy),
		strconv.FormatBool(r.Flipped), r.PreviousProvider, r.PreviousSecretsProvider, r.Error}
}

// TestAuditColumns: the CSV columns come from the JSON fields, in order,
// without previous_object, and with the two key columns only with --keys.
func TestAuditColumns(t *testing.T) {
	if got := auditColumns(false).names(); !slices.Equal(got, pinnedCSVHeader) {
		t.Errorf("columns = %q\nwant %q", got, pinnedCSVHeader)
	}
	withKeys := append(slices.Clone(pinnedCSVHeader), "key_state", "deletion_date")
	if got := auditColumns(true).names(); !slices.Equal(got, withKeys) {
		t.Errorf("columns with --keys = %q\nwant %q", got, withKeys)
	}
	when := time.Date(2026, 12, 3, 8, 0, 0, 0, time.FixedZone("x", 3600))
	r := state.StackReport{Project: "p", Stack: "s", Provider: "awskms", Size: 42, LastModified: when, CheckpointVersion: 3,
		Locked: true, Flipped: true, PreviousObject: "not a column", KeyState: "PendingDeletion", DeletionDate: &when}
	want := append(pinnedCSVRow(r), "PendingDeletion", "2026-12-03T07:00:00Z")
	if got := csvRow(r, auditColumns(true)); !slices.Equal(got, want) {
		t.Errorf("row = %q\nwant %q", got, want)
	}
}

package main

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

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
	// The audit's documented fields come first, in their order, before any extra column
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

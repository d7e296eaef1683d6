package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"
)

// oldAuditOutput is the output as the audit wrote it before it streamed:
// the reports sorted flipped first (with history), encoded whole by
// json.Encoder, csv.Writer or text/tabwriter. It is the oracle the
// streamed output must match byte for byte.
func oldAuditOutput(t *testing.T, format string, history bool, reports []stackReport) string {
	t.Helper()
	reports = slices.Clone(reports)
	if history {
		sort.SliceStable(reports, func(i, j int) bool { return reports[i].Flipped && !reports[j].Flipped })
	}
	sum := auditSummary{Providers: map[string]int{}}
	for _, c := range providerClasses {
		sum.Providers[c] = 0
	}
	for _, r := range reports {
		sum.count(r)
	}
	var b bytes.Buffer
	switch format {
	case "json":
		if reports == nil {
			reports = []stackReport{}
		}
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Stacks  []stackReport `json:"stacks"`
			Summary auditSummary  `json:"summary"`
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
func auditSample(n int) []stackReport {
	classes := providerClasses
	var out []stackReport
	for i := range n {
		r := stackReport{
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
			var flippedOnly []stackReport
			for _, r := range auditSample(40) {
				if r.Flipped {
					flippedOnly = append(flippedOnly, r)
				}
			}
			for _, sample := range [][]stackReport{nil, auditSample(1), auditSample(2), auditSample(40), flippedOnly} {
				for _, limit := range []int{0, 1, 500} { // memory only; a temporary file at once; after 500 bytes
					n := len(sample)
					name := fmt.Sprintf("%s history=%v n=%d limit=%d", format, history, n, limit)
					t.Setenv("TMPDIR", t.TempDir())
					reports := sample
					a := newAuditReport(format, history, false)
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
	a := newAuditReport("json", false, false)
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

// pinnedCSVHeader and pinnedCSVRow are the CSV contract written out by
// hand: the columns are derived from stackReport's fields, and a
// change there must not move or rename a column unnoticed.
var pinnedCSVHeader = []string{"project", "stack", "provider", "secretsprovider", "key", "region", "encryptedkey_sha256",
	"object", "size", "last_modified", "compression", "checkpoint_version", "locked", "legacy",
	"flipped", "previous_provider", "previous_secretsprovider", "error"}

func pinnedCSVRow(r stackReport) []string {
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
	r := stackReport{Project: "p", Stack: "s", Provider: "awskms", Size: 42, LastModified: when, CheckpointVersion: 3,
		Locked: true, Flipped: true, PreviousObject: "not a column", KeyState: "PendingDeletion", DeletionDate: &when}
	want := append(pinnedCSVRow(r), "PendingDeletion", "2026-12-03T07:00:00Z")
	if got := csvRow(r, auditColumns(true)); !slices.Equal(got, want) {
		t.Errorf("row = %q\nwant %q", got, want)
	}
}

package harness

import (
	"strings"
	"testing"
)

// endedTB is a test that has ended with a given outcome; Cleanup runs the
// cleanups at once, as they would run when a real test ends.
type endedTB struct {
	testing.TB
	name            string
	failed, skipped bool
}

func (e *endedTB) Name() string      { return e.name }
func (e *endedTB) Failed() bool      { return e.failed }
func (e *endedTB) Skipped() bool     { return e.skipped }
func (e *endedTB) Cleanup(fn func()) { fn() }

// A skipped scenario must never be written as "pass", and a cell passes
// only when every test that recorded it passed.
func TestMatrixRecordsOutcomes(t *testing.T) {
	cell := func(provider string) Cell {
		return Cell{Pulumi: "v3.274.1", Provider: provider, Compression: "none", Layout: "project", Backend: "s3", Scenario: "S"}
	}
	tests := []struct {
		name  string
		tests []endedTB // in the order they end
		want  string
	}{
		{"one pass", []endedTB{{}}, "pass"},
		{"one skip", []endedTB{{skipped: true}}, "skipped"},
		{"one fail", []endedTB{{failed: true}}, "**FAIL**"},
		{"skip after a failure", []endedTB{{failed: true, skipped: true}}, "**FAIL**"},
		{"pass then skip", []endedTB{{}, {skipped: true}}, "skipped"},
		{"skip then pass", []endedTB{{skipped: true}, {}}, "skipped"},
		{"pass then fail", []endedTB{{}, {failed: true}}, "**FAIL**"},
		{"fail then pass", []endedTB{{failed: true}, {}}, "**FAIL**"},
		{"skip then fail", []endedTB{{skipped: true}, {failed: true}}, "**FAIL**"},
		{"two passes", []endedTB{{}, {}}, "pass"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m matrixCells
			for i := range tt.tests {
				m.record(&tt.tests[i], cell("p"))
			}
			doc := renderMatrix(m.cells)
			want := "| v3.274.1 | p | none | project | s3 | S | " + tt.want + " |\n"
			if !strings.Contains(doc, want) {
				t.Errorf("compatibility.md:\n%s\nwant the row:\n%s", doc, want)
			}
		})
	}
}

// A cell recorded without a scenario takes the test's name.
func TestMatrixScenarioDefaultsToTestName(t *testing.T) {
	var m matrixCells
	m.record(&endedTB{name: "TestScenarioX/alias", skipped: true}, Cell{Pulumi: "v1", Provider: "p", Compression: "none", Layout: "project", Backend: "file"})
	if doc := renderMatrix(m.cells); !strings.Contains(doc, "| v1 | p | none | project | file | TestScenarioX/alias | skipped |\n") {
		t.Errorf("compatibility.md:\n%s", doc)
	}
}

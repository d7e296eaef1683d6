package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Cell is one cell of the compatibility matrix: a pulumi version writing
// state of one provider, compression and layout, restored by stacksync and
// read back by pulumi.
type Cell struct {
	Pulumi      string // e.g. v3.274.1
	Provider    string // awskms alias, awskms key id, awskms ARN, passphrase, …
	Compression string // none, gzip, zstd, gzip→zstd, …
	Layout      string // project, legacy
	Backend     string // s3, file
	Scenario    string // the test that exercised it
}

// outcome is how the tests that recorded a cell ended, worst first when
// ordered: a cell is no better than its worst test.
type outcome int

const (
	outcomePass outcome = iota
	outcomeSkip
	outcomeFail
)

// String is the outcome as the table's result column shows it.
func (o outcome) String() string {
	switch o {
	case outcomeFail:
		return "**FAIL**"
	case outcomeSkip:
		return "skipped"
	}
	return "pass"
}

// outcomeOf is t's outcome once it has ended. A test that skipped after a
// failure is a failure.
func outcomeOf(t testing.TB) outcome {
	switch {
	case t.Failed():
		return outcomeFail
	case t.Skipped():
		return outcomeSkip
	}
	return outcomePass
}

// matrixCells collects the cells of one run.
type matrixCells struct {
	sync.Mutex
	cells map[Cell]outcome
}

var matrix matrixCells

// RecordCell records c as exercised by t: when t ends, the cell is marked
// pass, skipped or fail by t's outcome. A cell recorded by several tests
// passes only if all of them pass; a skipped test never makes a cell pass.
func RecordCell(t testing.TB, c Cell) { matrix.record(t, c) }

func (m *matrixCells) record(t testing.TB, c Cell) {
	if c.Scenario == "" {
		c.Scenario = t.Name()
	}
	t.Cleanup(func() {
		m.Lock()
		defer m.Unlock()
		if m.cells == nil {
			m.cells = map[Cell]outcome{}
		}
		m.cells[c] = max(m.cells[c], outcomeOf(t))
	})
}

// writeMatrix writes docs/compatibility.md of the main module when the run
// recorded any cell and ran the whole suite (no -run filter), so a partial
// run never overwrites the full table.
func writeMatrix() error {
	matrix.Lock()
	defer matrix.Unlock()
	if len(matrix.cells) == 0 {
		return nil
	}
	if f := lookupFlag("test.run"); f != "" {
		return nil
	}
	dir, err := MainModuleDir()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "docs", "compatibility.md"), []byte(renderMatrix(matrix.cells)), 0o644)
}

// renderMatrix renders docs/compatibility.md from the cells of a run.
func renderMatrix(outcomes map[Cell]outcome) string {
	cells := make([]Cell, 0, len(outcomes))
	for c := range outcomes {
		cells = append(cells, c)
	}
	sort.Slice(cells, func(i, j int) bool {
		a, b := cells[i], cells[j]
		for _, p := range [][2]string{{a.Pulumi, b.Pulumi}, {a.Provider, b.Provider}, {a.Compression, b.Compression}, {a.Layout, b.Layout}, {a.Backend, b.Backend}, {a.Scenario, b.Scenario}} {
			if p[0] != p[1] {
				return p[0] < p[1]
			}
		}
		return false
	})
	var sb strings.Builder
	sb.WriteString("# Compatibility matrix\n\n")
	sb.WriteString("Written by the end-to-end suite (`make test`, `integration/`) on every full run; do not edit by hand.\n")
	sb.WriteString("Each row: the real pulumi CLI at that version wrote the state, `stacksync restore` restored the settings\n")
	sb.WriteString("file, and pulumi v" + strings.TrimPrefix(PulumiVersion, "v") + " (and the writing version) then read the stack's secrets without a passphrase prompt.\n")
	sb.WriteString("A row marked skipped was not exercised in that run (a tool or a server was missing), so it proves nothing.\n\n")
	sb.WriteString("| pulumi | provider | compression | layout | backend | scenario | result |\n|---|---|---|---|---|---|---|\n")
	for _, c := range cells {
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s | %s |\n", c.Pulumi, c.Provider, c.Compression, c.Layout, c.Backend, c.Scenario, outcomes[c])
	}
	return sb.String()
}

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

var matrix struct {
	sync.Mutex
	cells map[Cell]bool // cell → passed
}

// RecordCell records c as exercised by t: when t ends, the cell is marked
// pass or fail by t's outcome. A cell recorded by several tests passes only
// if all of them pass.
func RecordCell(t testing.TB, c Cell) {
	if c.Scenario == "" {
		c.Scenario = t.Name()
	}
	t.Cleanup(func() {
		matrix.Lock()
		defer matrix.Unlock()
		if matrix.cells == nil {
			matrix.cells = map[Cell]bool{}
		}
		prev, seen := matrix.cells[c]
		matrix.cells[c] = !t.Failed() && (!seen || prev)
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
	cells := make([]Cell, 0, len(matrix.cells))
	for c := range matrix.cells {
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
	sb.WriteString("file, and pulumi v" + strings.TrimPrefix(PulumiVersion, "v") + " (and the writing version) then read the stack's secrets without a passphrase prompt.\n\n")
	sb.WriteString("| pulumi | provider | compression | layout | backend | scenario | result |\n|---|---|---|---|---|---|---|\n")
	for _, c := range cells {
		res := "pass"
		if !matrix.cells[c] {
			res = "**FAIL**"
		}
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s | %s |\n", c.Pulumi, c.Provider, c.Compression, c.Layout, c.Backend, c.Scenario, res)
	}
	return os.WriteFile(filepath.Join(dir, "docs", "compatibility.md"), []byte(sb.String()), 0o644)
}

package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stacksync/stacksync/pkg/state"
)

// keyFailOnStates maps audit --fail-on's key conditions to the key state
// that trips them.
var keyFailOnStates = map[string]string{
	"key-disabled":         "Disabled",
	"key-pending-deletion": "PendingDeletion",
}

// splitKeyFailOn takes the key conditions (key-disabled,
// key-pending-deletion) out of a --fail-on list. It returns the rest of
// the list and the set of key states that fail the audit; a key condition
// turns --keys on.
func splitKeyFailOn(list string) (rest string, states map[string]bool) {
	var kept []string
	for _, p := range strings.Split(list, ",") {
		if st, ok := keyFailOnStates[strings.TrimSpace(p)]; ok {
			if states == nil {
				states = map[string]bool{}
			}
			states[st] = true
			continue
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, ","), states
}

// appendKeyRow keeps, for the table's key section, one report per
// distinct KMS key (key id and region) with the number of stacks that use
// it in Size: memory grows with the keys, not the stacks.
func appendKeyRow(rows []state.StackReport, r state.StackReport) []state.StackReport {
	for i := range rows {
		if rows[i].Key == r.Key && rows[i].Region == r.Region {
			rows[i].Size++
			return rows
		}
	}
	return append(rows, state.StackReport{Key: r.Key, Region: r.Region, Provider: r.Provider, KeyState: r.KeyState, DeletionDate: r.DeletionDate, Size: 1})
}

// withKeyColumns appends, with keys, the key_state and deletion_date
// columns to a CSV row: their names for the header (r nil), else r's.
func withKeyColumns(row []string, keys bool, r *state.StackReport) []string {
	switch {
	case !keys:
		return row
	case r == nil:
		return append(row[:len(row):len(row)], "key_state", "deletion_date")
	}
	return append(row[:len(row):len(row)], r.KeyState, formatDate(r.DeletionDate))
}

// formatDate formats a deletion date for CSV and tables, "" for none.
func formatDate(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// writeKeyTable prints, after the audit table, one line per distinct KMS
// key: its state, deletion date and how many stacks use it. Keys that
// will not decrypt come first.
func writeKeyTable(w io.Writer, reports []state.StackReport) error {
	type row struct {
		key, region, state, date string
		stacks                   int
	}
	rows := map[string]*row{}
	for _, r := range reports {
		if r.Provider != "awskms" || r.KeyState == "" {
			continue
		}
		id := r.Key + "\x00" + r.Region
		if rows[id] == nil {
			rows[id] = &row{key: r.Key, region: r.Region, state: r.KeyState, date: formatDate(r.DeletionDate)}
		}
		rows[id].stacks += int(r.Size)
	}
	if len(rows) == 0 {
		return nil
	}
	list := make([]*row, 0, len(rows))
	for _, r := range rows {
		list = append(list, r)
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if (a.state == "Enabled") != (b.state == "Enabled") {
			return b.state == "Enabled"
		}
		return a.key+a.region < b.key+b.region
	})
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KMS KEY\tREGION\tKEY STATE\tDELETION DATE\tSTACKS")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, r := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", safe(r.key), safe(dash(r.region)), safe(r.state), dash(r.date), r.stacks)
	}
	return tw.Flush()
}

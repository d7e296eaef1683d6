package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stacksync/stacksync/pkg/secrets"
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

// annotateKey sets r's KeyState and DeletionDate, asking keys, when r is
// an awskms stack. A key whose state cannot be learnt sets r.Error, unless
// r already has one.
func annotateKey(ctx context.Context, keys *secrets.KeyAuditor, r *stackReport) {
	if r.Provider != "awskms" || r.SecretsProvider == "" {
		return
	}
	h := keys.Key(ctx, r.SecretsProvider)
	if h.Err != nil {
		if r.Error == "" {
			r.Error = "describing its KMS key: " + h.Err.Error()
		}
		return
	}
	r.KeyState = h.State
	if !h.DeletionDate.IsZero() {
		d := h.DeletionDate.UTC()
		r.DeletionDate = &d
	}
}

// keyRow is one line of the table's key section: a distinct KMS key (key
// id and region), its state and deletion date, and how many stacks use it.
type keyRow struct {
	key, region, state, date string
	stacks                   int
}

// appendKeyRow counts r, a stack with a key state, on the row of its key:
// memory grows with the keys, not the stacks.
func appendKeyRow(rows []keyRow, r stackReport) []keyRow {
	for i := range rows {
		if rows[i].key == r.Key && rows[i].region == r.Region {
			rows[i].stacks++
			return rows
		}
	}
	return append(rows, keyRow{key: r.Key, region: r.Region, state: r.KeyState, date: formatDate(r.DeletionDate), stacks: 1})
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
func writeKeyTable(w io.Writer, rows []keyRow) error {
	if len(rows) == 0 {
		return nil
	}
	list := slices.Clone(rows)
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

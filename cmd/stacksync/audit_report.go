package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"
)

// auditSummary is the report's last part: the stacks counted by provider
// class, flipped, locked and unreadable.
type auditSummary struct {
	Stacks    int            `json:"stacks"`
	Providers map[string]int `json:"providers"`
	Flipped   int            `json:"flipped"`
	Locked    int            `json:"locked"`
	Errors    int            `json:"errors"`
}

// count adds r to the summary.
func (s *auditSummary) count(r stackReport) {
	s.Stacks++
	s.Providers[r.Provider]++
	if r.Flipped {
		s.Flipped++
	}
	if r.Locked {
		s.Locked++
	}
	if r.Error != "" {
		s.Errors++
	}
}

// auditReport writes an audit's output from reports that come one at a
// time, in project and stack order, holding none of them: each is encoded
// as it comes into a spool (memory, then a temporary file), and the
// output is written once the audit is complete, so a stopped audit prints
// nothing. With history, flipped stacks go first: they are spooled apart.
// A table's column widths are kept as rows come, so the rows can be
// padded when written.
type auditReport struct {
	format  string
	history bool
	summary auditSummary
	// flipped and others hold the encoded stacks, flipped first.
	flipped, others spool
	nFlipped        int
	nOthers         int
	widths          []int // of the table's columns

	// keyStates counts the stacks per KMS key state, keyRows the stacks
	// per key, for the table's key section; both stay empty without
	// --keys.
	keyStates map[string]int
	keyRows   []keyRow
	// columns are the CSV's.
	columns csvColumns
}

// newAuditReport returns an empty report in format, with the history
// column when history is set, and with the key columns when keys is.
func newAuditReport(format string, history, keys bool) *auditReport {
	a := &auditReport{format: format, history: history, summary: auditSummary{Providers: map[string]int{}},
		keyStates: map[string]int{}, columns: auditColumns(keys)}
	for _, c := range providerClasses {
		a.summary.Providers[c] = 0
	}
	if format == "table" {
		a.widen(auditTableHead(history))
	}
	return a
}

// add counts r and encodes it into its spool, as the audit hands stacks
// over.
func (a *auditReport) add(r stackReport) error {
	if r.KeyState != "" {
		a.keyStates[r.KeyState]++
		a.keyRows = appendKeyRow(a.keyRows, r)
	}
	a.summary.count(r)
	sp, n := &a.others, &a.nOthers
	if a.history && r.Flipped {
		sp, n = &a.flipped, &a.nFlipped
	}
	*n++
	switch a.format {
	case "json":
		data, err := json.MarshalIndent(r, "    ", "  ")
		if err != nil {
			return err
		}
		if *n > 1 {
			sp.WriteString(",\n")
		}
		sp.WriteString("    ")
		sp.Write(data)
	case "csv":
		cw := csv.NewWriter(sp)
		if err := cw.Write(safeAll(csvRow(r, a.columns))); err != nil {
			return err
		}
		cw.Flush()
	default:
		cells := auditTableRow(r, a.history)
		a.widen(cells)
		sp.WriteString(strings.Join(cells, "\t"))
		sp.WriteString("\n")
	}
	return sp.Err()
}

// writeTo writes the whole output to w.
func (a *auditReport) writeTo(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	switch a.format {
	case "json":
		err = a.writeJSON(bw)
	case "csv":
		err = a.writeCSV(bw)
	default:
		err = a.writeTable(bw)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

// writeJSON writes {"stacks": [...], "summary": {...}} byte for byte as
// json.Encoder with a two-space indent writes it.
func (a *auditReport) writeJSON(w *bufio.Writer) error {
	w.WriteString("{\n  \"stacks\": [")
	if a.nFlipped+a.nOthers > 0 {
		w.WriteString("\n")
		if err := a.flipped.copyTo(w); err != nil {
			return err
		}
		if a.nFlipped > 0 && a.nOthers > 0 {
			w.WriteString(",\n")
		}
		if err := a.others.copyTo(w); err != nil {
			return err
		}
		w.WriteString("\n  ")
	}
	w.WriteString("],\n  \"summary\": ")
	data, err := json.MarshalIndent(a.summary, "  ", "  ")
	if err != nil {
		return err
	}
	w.Write(data)
	_, err = w.WriteString("\n}\n")
	return err
}

func (a *auditReport) writeCSV(w *bufio.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(a.columns.names()); err != nil {
		return err
	}
	cw.Flush()
	if err := a.flipped.copyTo(w); err != nil {
		return err
	}
	return a.others.copyTo(w)
}

func (a *auditReport) close() {
	a.flipped.close()
	a.others.close()
}

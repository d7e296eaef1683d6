package main

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// writeTable writes the table as text/tabwriter would (cells padded to the
// widest of their column plus two spaces, in runes; the last cell as it
// is), then the summary line.
func (a *auditReport) writeTable(w *bufio.Writer) error {
	pad := func(line string) {
		cells := strings.Split(line, "\t")
		for i, c := range cells {
			w.WriteString(c)
			if i < len(cells)-1 {
				w.WriteString(strings.Repeat(" ", a.widths[i]+2-utf8.RuneCountInString(c)))
			}
		}
		w.WriteString("\n")
	}
	pad(strings.Join(auditTableHead(a.history), "\t"))
	for _, sp := range []*spool{&a.flipped, &a.others} {
		if err := sp.eachLine(pad); err != nil {
			return err
		}
	}
	if _, err := w.WriteString(a.summaryLine() + "\n"); err != nil {
		return err
	}
	return writeKeyTable(w, a.keyRows)
}

// widen grows the table's column widths to fit cells.
func (a *auditReport) widen(cells []string) {
	for len(a.widths) < len(cells) {
		a.widths = append(a.widths, 0)
	}
	for i, c := range cells {
		a.widths[i] = max(a.widths[i], utf8.RuneCountInString(c))
	}
}

func auditTableHead(history bool) []string {
	head := []string{"PROJECT", "STACK", "PROVIDER", "KEY", "REGION", "DATA KEY", "COMPRESSION", "VERSION", "LOCKED"}
	if history {
		head = append(head, "FLIPPED FROM")
	}
	return append(head, "ERROR")
}

// auditTableRow returns the table's cells for r, each fit to print.
func auditTableRow(r stackReport, history bool) []string {
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	key := r.Key
	if key == "" && r.Provider != "awskms" {
		key = r.SecretsProvider
	}
	project := r.Project
	if r.Legacy {
		project = "(legacy)"
	}
	locked := "-"
	if r.Locked {
		locked = "locked"
	}
	version := "-"
	if r.Error == "" {
		version = strconv.Itoa(r.CheckpointVersion)
	}
	cells := []string{project, r.Stack, r.Provider, dash(key), dash(r.Region), dash(r.EncryptedKeySHA),
		dash(r.Compression), version, locked}
	if history {
		from := "-"
		if r.Flipped {
			from = r.PreviousProvider
			if r.PreviousSecretsProvider != "" {
				from += " " + r.PreviousSecretsProvider
			}
		}
		cells = append(cells, from)
	}
	return safeAll(append(cells, dash(r.Error)))
}

// summaryLine is the table's last line.
func (a *auditReport) summaryLine() string {
	s := a.summary
	var parts []string
	for _, c := range providerClasses {
		if n := s.Providers[c]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", c, n))
		}
	}
	line := fmt.Sprintf("%d stacks", s.Stacks)
	if s.Stacks == 1 {
		line = "1 stack"
	}
	if len(parts) > 0 {
		line += ": " + strings.Join(parts, ", ")
	}
	if a.history {
		line += fmt.Sprintf("; %d flipped", s.Flipped)
	}
	if s.Locked > 0 {
		line += fmt.Sprintf("; %d locked", s.Locked)
	}
	if s.Errors > 0 {
		line += fmt.Sprintf("; %d unreadable", s.Errors)
	}
	return line
}

package main

import (
	stdjson "encoding/json"
	"fmt"
	"strings"

	"github.com/stacksync/stacksync/pkg/settings"
)

// unifiedDiff returns a unified diff of two small texts with no context
// lines, because the lines around a change may be config values, which
// stacksync never prints. For the same reason a changed line that does not
// start with one of the three secrets provider keys (a one-line JSON file,
// say, or a folded value) is shown only as a placeholder.
func unifiedDiff(name string, a, b []byte) string {
	x, y := splitLines(string(a)), splitLines(string(b))
	// An edit touches a few lines: the common head and tail are left
	// out before the quadratic part, so a large file costs linear time.
	head := 0
	for head < len(x) && head < len(y) && x[head] == y[head] {
		head++
	}
	tail := 0
	for tail < len(x)-head && tail < len(y)-head && x[len(x)-1-tail] == y[len(y)-1-tail] {
		tail++
	}
	x, y = x[head:len(x)-tail], y[head:len(y)-tail]
	var sb strings.Builder
	from, to := "a/"+safe(name), "b/"+safe(name)
	if len(a) == 0 {
		from = "/dev/null"
	}
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", from, to)
	if len(x)*len(y) > maxDiffCells {
		fmt.Fprintf(&sb, "@@ -%s +%s @@ (%d lines differ: too many to show)\n", hunkRange(head, len(x)), hunkRange(head, len(y)), len(x)+len(y))
		return sb.String()
	}
	// Longest common subsequence table of what differs.
	n, m := len(x), len(y)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n || j < m {
		if i < n && j < m && x[i] == y[j] {
			i, j = i+1, j+1
			continue
		}
		// A hunk: the run of deletions and insertions up to the next
		// common line.
		i0, j0 := i, j
		for (i < n || j < m) && !(i < n && j < m && x[i] == y[j]) {
			if j >= m || (i < n && lcs[i+1][j] >= lcs[i][j+1]) {
				i++
			} else {
				j++
			}
		}
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n", hunkRange(head+i0, i-i0), hunkRange(head+j0, j-j0))
		for _, l := range x[i0:i] {
			sb.WriteString("-" + shown(l))
		}
		for _, l := range y[j0:j] {
			sb.WriteString("+" + shown(l))
		}
	}
	return sb.String()
}

// maxDiffCells bounds the table of the part of two files that differs.
const maxDiffCells = 1 << 20

// hunkRange formats a hunk's start,count as diff(1) does.
func hunkRange(start, count int) string {
	if count == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if count == 1 {
		return fmt.Sprint(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, count)
}

// splitLines splits s after each newline; a last line without one gets the
// "\ No newline at end of file" marker as diff(1) writes it.
func splitLines(s string) []string {
	var lines []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s+"\n\\ No newline at end of file\n")
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}

// shown returns line if it is an entry of one of the three secrets provider
// keys and nothing else, with control characters escaped, else a
// placeholder: a JSON line that holds such a key and more (a one-line file
// whose salt sits beside config, say) is not shown.
func shown(line string) string {
	text, end, _ := strings.Cut(line, "\n")
	if providerEntry(text) {
		// The line's own text, then the newline (and the marker
		// splitLines adds) as they are.
		return safe(text) + "\n" + end
	}
	return "(a line holding other settings, not shown)\n"
}

// providerEntry reports whether text, one line of a settings file, is one
// secrets provider key and its value alone: "key: value" in YAML, or
// "key": "value" in JSON with at most the object's braces and a comma
// around it.
func providerEntry(text string) bool {
	t := strings.TrimLeft(text, " \t\ufeff")
	json := strings.HasPrefix(t, "{") || strings.HasPrefix(t, "\"")
	if json {
		t = strings.TrimLeft(strings.TrimPrefix(t, "{"), " \t")
	}
	for _, k := range []string{settings.KeySecretsProvider, settings.KeyEncryptedKey, settings.KeyEncryptionSalt} {
		if !json {
			if rest, ok := strings.CutPrefix(t, k); ok && strings.HasPrefix(rest, ":") {
				return true // a top-level YAML line holds one key
			}
			continue
		}
		rest, ok := strings.CutPrefix(t, `"`+k+`"`)
		if !ok {
			continue
		}
		rest = strings.TrimLeft(rest, " \t")
		if rest, ok = strings.CutPrefix(rest, ":"); !ok {
			return false
		}
		dec := stdjson.NewDecoder(strings.NewReader(rest))
		var v string
		if err := dec.Decode(&v); err != nil {
			return false
		}
		return strings.Trim(rest[dec.InputOffset():], " \t,}\r") == ""
	}
	return false
}

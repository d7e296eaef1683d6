package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/stacksync/stacksync/internal/elide"
)

// safe returns s fit to print on a terminal, in a table cell, a CSV field
// or one line of text: every control character is escaped, so a value
// from state or from a file (a secrets provider URL holding ESC, say) can
// neither drive the terminal nor break a line or a column. It escapes C0
// controls (newline and tab included), DEL, C1 controls, the Unicode
// format characters that reorder or hide text (bidi overrides and
// isolates, zero-width marks, line and paragraph separators), and bytes
// that are not UTF-8. Everything else is left as it is. JSON output needs
// no such care: the encoder escapes control characters itself.
func safe(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&sb, `\x%02x`, s[i])
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r < 0x80 && unsafeRune(r):
			fmt.Fprintf(&sb, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			sb.WriteString(s[i : i+n])
		}
		i += n
	}
	return sb.String()
}

// unsafeRune reports whether r must not reach a terminal as it is.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r == 0x200b, r == 0x200c, r == 0x200d, r == 0x200e, r == 0x200f, // zero-width and marks
		r >= 0x202a && r <= 0x202e, // bidi embeddings and overrides
		r >= 0x2066 && r <= 0x2069, // bidi isolates
		r == 0x2028, r == 0x2029,   // line and paragraph separators
		r == 0xfeff: // byte order mark, zero-width no-break space
		return true
	}
	return false
}

// safeAll returns the elements of ss passed through safe.
func safeAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = safe(s)
	}
	return out
}

// short returns s passed through safe, cut when it is long (see
// elide.Name): a 5,000-character stack name in an error is noise, not
// help.
func short(s string) string { return elide.Name(s, safe) }

// encodeJSON prints v as indented JSON on stdout.
func encodeJSON(e *env, v any) int {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		if sw, ok := e.stdout.(*stickyWriter); !ok || sw.err == nil {
			errorLine(e, err) // not a write error, which run reports
		}
		return exitError
	}
	return exitOK
}

// relPath shortens path for output when it is under dir.
func relPath(dir, path string) string {
	if rel, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}

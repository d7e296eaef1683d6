// Package elide shortens the names and arguments that messages quote: a
// 5,000-character stack name in an error is noise, not help.
package elide

import (
	"fmt"
	"unicode/utf8"
)

// A string up to Max bytes is shown whole; a longer one is cut to its
// first Cut bytes. Max is above Pulumi's 100-byte limit on names, so a
// name just over the limit is still shown whole.
const (
	Max = 128
	Cut = 64
)

// Name returns show(s) when s is at most Max bytes long. A longer s is cut
// to its first Cut bytes, backed up to a character boundary, and shown as
// show of that followed by "…(N bytes)", N being the length of s.
func Name(s string, show func(string) string) string {
	if len(s) <= Max {
		return show(s)
	}
	cut := Cut
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…(%d bytes)", show(s[:cut]), len(s))
}

package elide

import (
	"strconv"
	"strings"
	"testing"
)

func TestName(t *testing.T) {
	same := func(s string) string { return s }
	tests := []struct {
		give string
		show func(string) string
		want string
	}{
		{"", same, ""},
		{"dev", strconv.Quote, `"dev"`},
		{strings.Repeat("a", Max), same, strings.Repeat("a", Max)},
		{strings.Repeat("a", Max+1), same, strings.Repeat("a", Cut) + "…(129 bytes)"},
		{strings.Repeat("a", 5000), strconv.Quote, `"` + strings.Repeat("a", Cut) + `"…(5000 bytes)`},
		// A cut inside a character backs up to its first byte.
		{strings.Repeat("a", Cut-1) + "é" + strings.Repeat("b", 100), same, strings.Repeat("a", Cut-1) + "…(165 bytes)"},
	}
	for _, tt := range tests {
		if got := Name(tt.give, tt.show); got != tt.want {
			t.Errorf("Name(%.20q…) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

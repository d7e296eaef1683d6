package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestArgsAnywhere: flags and positional arguments mix in any order, as
// users of pulumi expect ("restore dev --check"), and "--" ends the flags.
func TestArgsAnywhere(t *testing.T) {
	tests := []struct {
		args   []string
		pos    []string
		output string
	}{
		{[]string{"dev", "-o", "json"}, []string{"dev"}, "json"},
		{[]string{"-o", "json", "dev", "prod"}, []string{"dev", "prod"}, "json"},
		{[]string{"dev", "--", "-o", "json"}, []string{"dev", "-o", "json"}, "text"},
		{[]string{"--", "dev"}, []string{"dev"}, "text"},
		{[]string{"--output=json", "dev"}, []string{"dev"}, "json"},
		{[]string{}, nil, "text"},
	}
	for _, tt := range tests {
		var pos []string
		var output string
		code := -1
		cmd := newCommand("test", "", "", "", func(_ *cobra.Command, args []string) int { pos = args; return exitOK }, &code)
		addOutput(cmd.Flags(), &output, "text", "text or json")
		cmd.SetArgs(tt.args)
		err := cmd.Execute()
		if err != nil || code != exitOK || strings.Join(pos, " ") != strings.Join(tt.pos, " ") || output != tt.output {
			t.Errorf("%q: args %q, -o %q, %v; want %q, -o %q", tt.args, pos, output, err, tt.pos, tt.output)
		}
	}
}

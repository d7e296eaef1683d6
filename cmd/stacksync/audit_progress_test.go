package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
)

func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, enabled: true}
	p.update(1, 50) // 50 stacks or fewer: silent
	p.finish()
	if buf.Len() != 0 {
		t.Fatalf("progress for 50 stacks wrote %q", buf.String())
	}
	p.update(1, 51)
	p.update(2, 51) // within 100 ms of the last line: skipped
	p.update(51, 51)
	p.finish()
	out := buf.String()
	if !strings.HasPrefix(out, "\r1/51 stacks, ") || !strings.Contains(out, "\r51/51 stacks, ") || strings.Contains(out, "2/51") {
		t.Errorf("progress wrote %q; want the first and last counts only", out)
	}
	if !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("finish did not clear the line: %q", out)
	}
}

func TestProgressOnlyOnACharacterDevice(t *testing.T) {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	file, err := os.Create(t.TempDir() + "/stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	for _, tc := range []struct {
		name    string
		stderr  io.Writer
		noColor string
		want    bool
	}{
		{"character device", devnull, "", true},
		{"character device with NO_COLOR", devnull, "1", false},
		{"regular file", file, "", false},
		{"buffer", &bytes.Buffer{}, "", false},
	} {
		e := &env{stderr: tc.stderr, getenv: func(k string) string {
			if k == "NO_COLOR" {
				return tc.noColor
			}
			return ""
		}}
		if got := newProgress(e).enabled; got != tc.want {
			t.Errorf("%s: enabled %v, want %v", tc.name, got, tc.want)
		}
	}
}

package main

import (
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/mod.txt")

// TestList lists testdata/mod, a module that holds every case the listing
// must leave out: test files (internal and external), methods of an
// unexported type, unexported names, a main package, a //go:build ignore
// file, testdata, directories starting with "." or "_", and a nested module.
// A function declared once per platform is listed once.
func TestList(t *testing.T) {
	got, err := list("testdata/mod")
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/mod.txt"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("listing differs from %s (rerun with -update and review the diff):\n%s", golden, got)
	}
}

// Command apilist writes the exported API of a Go module as a sorted
// listing with one line per exported declaration, in the form of Go's own
// api/go1.*.txt files, headed by the count of exported functions, types
// and methods per package.
//
// It reads every non-main package of the module rooted at -root with
// go/parser only: no type checking, no build. Test files, files that no
// build can include (//go:build ignore), testdata, vendor, internal
// packages (no other module can import them), directories starting with
// "." or "_" and nested modules are left out. Files for
// other platforms are read too, so the listing is the same on every
// machine. Without a type checker, it cannot list the fields and methods
// an exported type gains from an unexported embedded one, nor the type of
// a var whose initial value does not show it (it shows the value instead).
//
//	apilist -o api/stacksync.txt       write the listing
//	apilist -check api/stacksync.txt   exit 1 when the file differs
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	root := flag.String("root", ".", "the module's root directory (holding go.mod)")
	out := flag.String("o", "", "write the listing to this file (default: standard output)")
	check := flag.String("check", "", "compare the listing with this file and fail when they differ")
	flag.Parse()
	listing, err := list(*root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "apilist:", err)
		os.Exit(1)
	}
	switch {
	case *check != "":
		old, err := os.ReadFile(*check)
		if err != nil && !os.IsNotExist(err) {
			fmt.Fprintln(os.Stderr, "apilist:", err)
			os.Exit(1)
		}
		if !bytes.Equal(old, listing) {
			fmt.Fprintf(os.Stderr, "%s does not match the exported API: run `make api` and review the diff\n", *check)
			os.Exit(1)
		}
	case *out != "":
		if err := os.WriteFile(*out, listing, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "apilist:", err)
			os.Exit(1)
		}
	default:
		os.Stdout.Write(listing)
	}
}

// list returns the listing of the module rooted at root.
func list(root string) ([]byte, error) {
	modPath, err := modulePath(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	var pkgs []*pkgAPI
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if path != root {
			name := d.Name()
			if name == "testdata" || name == "vendor" || name == "internal" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				// An internal package is no API: no other module
				// can import it.
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		importPath := modPath
		if rel != "." {
			importPath += "/" + filepath.ToSlash(rel)
		}
		p, err := readPackage(path, importPath)
		if err != nil {
			return err
		}
		if p != nil {
			pkgs = append(pkgs, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return render(modPath, pkgs), nil
}

// modulePath reads the module path from a go.mod file.
func modulePath(gomod string) (string, error) {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], "\"`"), nil
		}
	}
	return "", fmt.Errorf("%s: no module line", gomod)
}

// readPackage reads the package in dir, or returns nil when dir holds no
// Go package other than main and tests.
func readPackage(dir, importPath string) (*pkgAPI, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, e := range entries { // ReadDir sorts by name: the order is stable
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") ||
			strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		if f.Name.Name == "main" || !buildable(f) {
			continue
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, nil
	}
	p := newPkgAPI(importPath, fset)
	for _, f := range files {
		p.addFile(f)
	}
	return p, nil
}

// buildable reports whether some choice of build tags other than "ignore"
// includes f.
func buildable(f *ast.File) bool {
	for _, g := range f.Comments {
		if g.Pos() >= f.Package {
			break
		}
		for _, c := range g.List {
			if !constraint.IsGoBuild(c.Text) {
				continue
			}
			expr, err := constraint.Parse(c.Text)
			if err != nil {
				return true // the compiler will say what is wrong
			}
			return satisfiable(expr)
		}
	}
	return true
}

// satisfiable tries every assignment of the tags in expr, with "ignore"
// always false.
func satisfiable(expr constraint.Expr) bool {
	seen := map[string]bool{}
	var tags []string
	expr.Eval(func(tag string) bool {
		if tag != "ignore" && !seen[tag] {
			seen[tag] = true
			tags = append(tags, tag)
		}
		return false
	})
	if len(tags) > 16 {
		return true
	}
	for set := 0; set < 1<<len(tags); set++ {
		on := map[string]bool{}
		for i, t := range tags {
			on[t] = set&(1<<i) != 0
		}
		if expr.Eval(func(tag string) bool { return on[tag] }) {
			return true
		}
	}
	return false
}

// render writes the header with the counts, then the sorted lines.
func render(modPath string, pkgs []*pkgAPI) []byte {
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].path < pkgs[j].path })
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Exported API of %s: one line per exported declaration of every\n", modPath)
	fmt.Fprintf(&b, "# non-main package, sorted. Written by `make api` (scripts/apilist); `make lint`\n")
	fmt.Fprintf(&b, "# fails when it no longer matches the code, so that a change of API is a reviewed diff.\n")
	fmt.Fprintf(&b, "#\n")
	fmt.Fprintf(&b, "# Counted: exported functions, exported types, and the exported methods declared\n")
	fmt.Fprintf(&b, "# on them (an interface's methods are listed below but not counted).\n")
	fmt.Fprintf(&b, "#\n")
	width := len("total")
	for _, p := range pkgs {
		width = max(width, len(p.path))
	}
	row := func(name string, funcs, types, methods, all int) {
		fmt.Fprintf(&b, "# %-*s %5d %5d %7d %5d\n", width, name, funcs, types, methods, all)
	}
	fmt.Fprintf(&b, "# %-*s %5s %5s %7s %5s\n", width, "package", "funcs", "types", "methods", "all")
	var tf, tt, tm int
	var lines []string
	for _, p := range pkgs {
		f, t, m := len(p.funcs), len(p.types), len(p.methods)
		tf, tt, tm = tf+f, tt+t, tm+m
		row(p.path, f, t, m, f+t+m)
		for l := range p.lines {
			lines = append(lines, l)
		}
	}
	row("total", tf, tt, tm, tf+tt+tm)
	b.WriteString("\n")
	sort.Strings(lines)
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\n")
	}
	return b.Bytes()
}

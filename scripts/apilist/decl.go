package main

import (
	"bytes"
	"go/ast"
	"go/constant"
	"go/printer"
	"go/token"
	"sort"
	"strings"
)

// pkgAPI collects the exported declarations of one package: the listing
// lines, and the names behind the counts of functions, types and methods.
type pkgAPI struct {
	path    string
	fset    *token.FileSet
	lines   map[string]bool
	funcs   map[string]bool
	types   map[string]bool
	methods map[string]bool // declared methods: an interface's are listed, not counted
	// consts holds the values of the package's constants evaluated so far,
	// so that one constant may be written in terms of another.
	consts map[string]constant.Value
}

func newPkgAPI(path string, fset *token.FileSet) *pkgAPI {
	return &pkgAPI{
		path: path, fset: fset,
		lines: map[string]bool{}, funcs: map[string]bool{}, types: map[string]bool{},
		methods: map[string]bool{}, consts: map[string]constant.Value{},
	}
}

// add records one line of the listing, made of parts.
func (p *pkgAPI) add(parts ...string) {
	p.lines["pkg "+p.path+", "+strings.Join(parts, "")] = true
}

// addFile records every exported declaration of f.
func (p *pkgAPI) addFile(f *ast.File) {
	// Parameter names are not part of an API: drop them everywhere, as
	// Go's own api files do.
	ast.Inspect(f, func(n ast.Node) bool {
		if ft, ok := n.(*ast.FuncType); ok {
			unname(ft.Params)
			unname(ft.Results)
		}
		return true
	})
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			p.addFunc(d)
		case *ast.GenDecl:
			switch d.Tok {
			case token.CONST:
				p.addConsts(d)
			case token.VAR:
				p.addVars(d)
			case token.TYPE:
				for _, s := range d.Specs {
					p.addType(s.(*ast.TypeSpec))
				}
			}
		}
	}
}

// unname removes the names from a parameter or result list, keeping one
// entry per name.
func unname(fl *ast.FieldList) {
	if fl == nil {
		return
	}
	var out []*ast.Field
	for _, f := range fl.List {
		for range max(len(f.Names), 1) {
			out = append(out, &ast.Field{Type: f.Type})
		}
	}
	fl.List = out
}

func (p *pkgAPI) addFunc(d *ast.FuncDecl) {
	if !d.Name.IsExported() {
		return
	}
	sig := strings.TrimPrefix(p.expr(d.Type), "func")
	if d.Recv == nil {
		p.funcs[d.Name.Name] = true
		p.add("func ", d.Name.Name, sig)
		return
	}
	recv := d.Recv.List[0].Type
	base := recv
	if s, ok := base.(*ast.StarExpr); ok {
		base = s.X
	}
	switch b := base.(type) {
	case *ast.IndexExpr:
		base = b.X
	case *ast.IndexListExpr:
		base = b.X
	}
	if id, ok := base.(*ast.Ident); !ok || !id.IsExported() {
		return // a method of an unexported type is reachable only through an interface
	}
	p.methods[base.(*ast.Ident).Name+"."+d.Name.Name] = true
	p.add("method (", p.expr(recv), ") ", d.Name.Name, sig)
}

func (p *pkgAPI) addConsts(d *ast.GenDecl) {
	// In a group, a spec without a type and values repeats the previous
	// ones, with iota counting the specs.
	var typ ast.Expr
	var values []ast.Expr
	for i, s := range d.Specs {
		vs := s.(*ast.ValueSpec)
		if vs.Type != nil || len(vs.Values) > 0 {
			typ, values = vs.Type, vs.Values
		}
		for j, name := range vs.Names {
			if j >= len(values) {
				continue
			}
			v := p.constValue(values[j], int64(i))
			if name.Name != "_" && v != nil {
				p.consts[name.Name] = v
			}
			if !name.IsExported() {
				continue
			}
			line := "const " + name.Name
			if typ != nil {
				line += " " + p.expr(typ)
			}
			if hasIota(values[j]) && v != nil {
				line += " = " + v.ExactString()
			} else {
				line += " = " + p.expr(values[j])
			}
			p.add(line)
		}
	}
}

func (p *pkgAPI) addVars(d *ast.GenDecl) {
	for _, s := range d.Specs {
		vs := s.(*ast.ValueSpec)
		for j, name := range vs.Names {
			if !name.IsExported() {
				continue
			}
			switch {
			case vs.Type != nil:
				p.add("var ", name.Name, " ", p.expr(vs.Type))
			case len(vs.Values) == len(vs.Names):
				p.add("var ", name.Name, p.varType(vs.Values[j]))
			default: // several names from one call: the types need a type checker
				p.add("var ", name.Name)
			}
		}
	}
}

// varType names the type of an untyped var's initial value where the
// syntax shows it, and otherwise shows the value.
func (p *pkgAPI) varType(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.CompositeLit:
		if e.Type != nil {
			return " " + p.expr(e.Type)
		}
	case *ast.UnaryExpr:
		if c, ok := e.X.(*ast.CompositeLit); ok && e.Op == token.AND && c.Type != nil {
			return " *" + p.expr(c.Type)
		}
	case *ast.FuncLit:
		return " " + p.expr(e.Type)
	case *ast.CallExpr:
		switch p.expr(e.Fun) {
		case "errors.New", "fmt.Errorf":
			return " error"
		}
	case *ast.BasicLit:
		return " " + map[token.Token]string{
			token.INT: "int", token.FLOAT: "float64", token.IMAG: "complex128",
			token.CHAR: "rune", token.STRING: "string",
		}[e.Kind]
	}
	return " = " + p.expr(e)
}

func (p *pkgAPI) addType(s *ast.TypeSpec) {
	if !s.Name.IsExported() {
		return
	}
	p.types[s.Name.Name] = true
	name := "type " + s.Name.Name
	if s.TypeParams != nil {
		name += "[" + p.typeParams(s.TypeParams) + "]"
	}
	if s.Assign.IsValid() {
		p.add(name, " = ", p.expr(s.Type))
		return
	}
	switch t := s.Type.(type) {
	case *ast.StructType:
		p.add(name, " struct")
		for _, f := range t.Fields.List {
			typ := p.expr(f.Type)
			if len(f.Names) == 0 {
				if embeddedName(f.Type).IsExported() {
					p.add(name, " struct, embedded ", typ)
				}
				continue
			}
			for _, n := range f.Names {
				if n.IsExported() {
					p.add(name, " struct, ", n.Name, " ", typ)
				}
			}
		}
	case *ast.InterfaceType:
		var members []string
		unexported := false
		for _, f := range t.Methods.List {
			if len(f.Names) == 0 { // an embedded interface or a type set
				typ := p.expr(f.Type)
				members = append(members, typ)
				p.add(name, " interface, embedded ", typ)
				continue
			}
			n := f.Names[0]
			if !n.IsExported() {
				unexported = true
				continue
			}
			members = append(members, n.Name)
			p.add(name, " interface, ", n.Name, strings.TrimPrefix(p.expr(f.Type), "func"))
		}
		sort.Strings(members)
		if unexported {
			members = append(members, "unexported methods")
		}
		p.add(name, " interface { ", strings.Join(members, ", "), " }")
	default:
		p.add(name, " ", p.expr(s.Type))
	}
}

// typeParams prints a type parameter list without its brackets.
func (p *pkgAPI) typeParams(fl *ast.FieldList) string {
	var parts []string
	for _, f := range fl.List {
		var names []string
		for _, n := range f.Names {
			names = append(names, n.Name)
		}
		parts = append(parts, strings.Join(names, ", ")+" "+p.expr(f.Type))
	}
	return strings.Join(parts, ", ")
}

// embeddedName is the name an embedded field is known by: T in T, *T,
// pkg.T and T[X].
func embeddedName(e ast.Expr) *ast.Ident {
	for {
		switch t := e.(type) {
		case *ast.Ident:
			return t
		case *ast.StarExpr:
			e = t.X
		case *ast.SelectorExpr:
			return t.Sel
		case *ast.IndexExpr:
			e = t.X
		case *ast.IndexListExpr:
			e = t.X
		default:
			return ast.NewIdent("_")
		}
	}
}

// expr prints e on one line.
func (p *pkgAPI) expr(e ast.Node) string {
	var b bytes.Buffer
	// Raw format: no alignment, so a tab is only ever one separator.
	if err := (&printer.Config{Mode: printer.RawFormat}).Fprint(&b, p.fset, e); err != nil {
		return "?"
	}
	var parts []string
	for _, l := range strings.Split(b.String(), "\n") {
		if l = strings.TrimSpace(strings.ReplaceAll(l, "\t", " ")); l != "" {
			parts = append(parts, l)
		}
	}
	s := strings.Join(parts, "; ")
	s = strings.ReplaceAll(s, "{; ", "{ ")
	return strings.ReplaceAll(s, "; }", " }")
}

func hasIota(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Name == "iota" {
			found = true
		}
		return !found
	})
	return found
}

// constValue computes a constant expression made of literals, iota and
// the package's own constants, or returns nil. An expression the compiler
// would reject (go/constant panics on some) gives nil too.
func (p *pkgAPI) constValue(e ast.Expr, iota int64) (v constant.Value) {
	defer func() {
		if recover() != nil {
			v = nil
		}
	}()
	return p.eval(e, iota)
}

// eval is constValue without the guard.
func (p *pkgAPI) eval(e ast.Expr, iota int64) constant.Value {
	switch e := e.(type) {
	case *ast.BasicLit:
		v := constant.MakeFromLiteral(e.Value, e.Kind, 0)
		if v.Kind() == constant.Unknown {
			return nil
		}
		return v
	case *ast.Ident:
		if e.Name == "iota" {
			return constant.MakeInt64(iota)
		}
		return p.consts[e.Name]
	case *ast.ParenExpr:
		return p.eval(e.X, iota)
	case *ast.UnaryExpr:
		x := p.eval(e.X, iota)
		if x == nil {
			return nil
		}
		return constant.UnaryOp(e.Op, x, 0)
	case *ast.BinaryExpr:
		x, y := p.eval(e.X, iota), p.eval(e.Y, iota)
		if x == nil || y == nil {
			return nil
		}
		switch e.Op {
		case token.SHL, token.SHR:
			s, ok := constant.Uint64Val(y)
			if !ok || s > 1024 {
				return nil
			}
			return constant.Shift(x, e.Op, uint(s))
		case token.EQL, token.NEQ, token.LSS, token.LEQ, token.GTR, token.GEQ:
			return constant.MakeBool(constant.Compare(x, e.Op, y))
		case token.QUO:
			if constant.Sign(y) == 0 {
				return nil
			}
			if x.Kind() == constant.Int && y.Kind() == constant.Int {
				return constant.BinaryOp(x, token.QUO_ASSIGN, y)
			}
		}
		return constant.BinaryOp(x, e.Op, y)
	case *ast.CallExpr: // a conversion such as Kind(1)
		if len(e.Args) == 1 {
			return p.eval(e.Args[0], iota)
		}
	}
	return nil
}

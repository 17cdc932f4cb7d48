package client_test

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestEveryEntryPointHasExample keeps the promise of the package's docs:
// each exported function and method has an Example with an // Output:
// comment, so `go test` runs it and godoc shows it. The error interface's
// methods (Error, Is, Unwrap) are shown by an example of their type.
func TestEveryEntryPointHasExample(t *testing.T) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	var tests []*ast.File
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, "_test.go") {
			tests = append(tests, f)
			continue
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || !fn.Name.IsExported() {
				continue
			}
			if fn.Recv == nil {
				want = append(want, fn.Name.Name)
				continue
			}
			typ := receiverType(fn.Recv.List[0].Type)
			if !ast.IsExported(typ) {
				continue
			}
			switch fn.Name.Name {
			case "Error", "Is", "Unwrap":
				want = append(want, typ)
			default:
				want = append(want, typ+"_"+fn.Name.Name)
			}
		}
	}
	if len(want) < 20 {
		t.Fatalf("found %d exported functions and methods, want the package's 20 or more: is the test in the package directory?", len(want))
	}
	runnable := map[string]bool{}
	for _, ex := range doc.Examples(tests...) {
		if ex.Output != "" || ex.EmptyOutput {
			runnable[ex.Name] = true
		}
	}
	slices.Sort(want)
	for _, name := range slices.Compact(want) {
		if !runnable[name] {
			t.Errorf("no runnable Example%s (one with an // Output: comment)", name)
		}
	}
}

// receiverType returns T for a receiver of type T or *T.
func receiverType(e ast.Expr) string {
	if star, ok := e.(*ast.StarExpr); ok {
		e = star.X
	}
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

package asyncspeech_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const modulePath = "github.com/distributeai/asyncspeech/"

// nonTestImports maps each package directory of the module to the module
// packages its non-test files import.
func nonTestImports(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if rest, ok := strings.CutPrefix(p, modulePath); ok && !slices.Contains(out[dir], rest) {
				out[dir] = append(out[dir], rest)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestArchitecture holds the import rules of docs/architecture.md.
func TestArchitecture(t *testing.T) {
	imports := nonTestImports(t)
	has := func(dir, pkg string) bool { return slices.Contains(imports[dir], pkg) }
	hasPrefix := func(dir, prefix string) string {
		for _, p := range imports[dir] {
			if p == prefix || strings.HasPrefix(p, prefix+"/") {
				return p
			}
		}
		return ""
	}
	if len(imports) < 20 {
		t.Fatalf("found %d packages; the walk is broken", len(imports))
	}
	for dir := range imports {
		if dir != "api/daemon" && has(dir, "api/worker") && has(dir, "api/server") {
			t.Errorf("%s imports both api/worker and api/server: only api/daemon composes them", dir)
		}
		if strings.HasPrefix(dir, "api/task") {
			for _, p := range imports[dir] {
				if p != "generated" {
					t.Errorf("%s (the domain) imports %s: it may import only generated", dir, p)
				}
			}
		}
		if strings.HasPrefix(dir, "api/store") {
			for _, banned := range []string{"api/server", "api/worker", "api/daemon", "api/client"} {
				if p := hasPrefix(dir, banned); p != "" {
					t.Errorf("%s imports %s: a store knows tasks, not their users", dir, p)
				}
			}
		}
	}
	for _, dir := range []string{"api/contract", "api/proxy"} {
		if _, ok := imports[dir]; !ok {
			t.Errorf("package %s not found", dir)
		}
		for _, banned := range []string{"api/store", "api/worker", "api/daemon", "api/server"} {
			if p := hasPrefix(dir, banned); p != "" {
				t.Errorf("%s imports %s: the harness sees a server only through HTTP and the spec", dir, p)
			}
		}
	}
}

package slabtrack_test

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The exported API that v0.1.0 promises to keep is listed in api/, one
// declaration a line, in the files of each release (api/v0.1.0.txt) and
// api/next.txt for what was added since. TestAPI compares the library's
// declarations with them: a line that is gone is a broken promise, and a
// new one must be added to api/next.txt (and to CHANGELOG.md).
var writeAPI = flag.Bool("write-api", false, "write the library's API to api/next.txt (every line not in an earlier release)")

// apiPackages are the packages of the library module whose API is kept; the
// metrics exporters are modules of their own, versioned apart.
var apiPackages = []string{"slab", "slab/slabhttp", "slab/slabjson", "tracker", "tracker/trackerhttp"}

func TestAPI(t *testing.T) {
	var got []string
	for _, dir := range apiPackages {
		got = append(got, packageAPI(t, dir)...)
	}
	slices.Sort(got)
	got = slices.Compact(got)

	promised := map[string]string{} // line → file
	files, err := filepath.Glob("api/*.txt")
	require.NoError(t, err)
	require.NotEmpty(t, files, "api/ lists the API of each release")
	var next []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for line := range strings.Lines(string(data)) {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if filepath.Base(f) == "next.txt" {
				next = append(next, line)
			}
			promised[line] = f
		}
	}
	if *writeAPI {
		var lines []string
		for _, l := range got {
			if f, ok := promised[l]; !ok || filepath.Base(f) == "next.txt" {
				lines = append(lines, l)
			}
		}
		text := "# Added since the last release; moved into its file when one is tagged.\n" + strings.Join(lines, "\n")
		require.NoError(t, os.WriteFile("api/next.txt", []byte(text+"\n"), 0o644))
		return
	}
	have := map[string]bool{}
	for _, l := range got {
		have[l] = true
	}
	var gone, added []string
	for l, f := range promised {
		if !have[l] {
			gone = append(gone, f+": "+l)
		}
	}
	for _, l := range got {
		if _, ok := promised[l]; !ok {
			added = append(added, l)
		}
	}
	slices.Sort(gone)
	assert.Empty(t, gone, "declarations that a release promised are gone or changed: a breaking change")
	assert.Empty(t, added, "new exported declarations: list them in api/next.txt and CHANGELOG.md (go test -run TestAPI -write-api .)")
}

// packageAPI returns one line per exported declaration of the package in
// dir, as the default build compiles it. Type aliases of types in the
// module's internal packages also list the members of the type they name,
// which users reach through the alias.
func packageAPI(t *testing.T, dir string) []string {
	t.Helper()
	fset := token.NewFileSet()
	files := parseDir(t, fset, dir)
	require.NotEmpty(t, files, "package %s has files", dir)
	var lines []string
	emit := func(format string, args ...any) {
		lines = append(lines, "pkg "+dir+", "+fmt.Sprintf(format, args...))
	}
	for _, f := range files {
		imports := map[string]string{}
		for _, im := range f.Imports {
			p := strings.Trim(im.Path.Value, `"`)
			n := filepath.Base(p)
			if im.Name != nil {
				n = im.Name.Name
			}
			imports[n] = p
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				if d.Recv == nil {
					emit("func %s%s", d.Name.Name, signature(fset, d.Type))
					continue
				}
				recv := node(fset, d.Recv.List[0].Type)
				if !ast.IsExported(strings.TrimLeft(strings.SplitN(recv, "[", 2)[0], "*")) {
					continue
				}
				emit("method (%s) %s%s", recv, d.Name.Name, signature(fset, d.Type))
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if !s.Name.IsExported() {
							continue
						}
						if s.Assign.IsValid() {
							emit("type %s = %s", s.Name.Name, node(fset, s.Type))
							if sel, ok := s.Type.(*ast.SelectorExpr); ok {
								if p := imports[node(fset, sel.X)]; strings.HasPrefix(p, modulePath+"/internal/") {
									for _, m := range members(t, strings.TrimPrefix(p, modulePath+"/"), sel.Sel.Name) {
										emit("type %s %s", s.Name.Name, m)
									}
								}
							}
							continue
						}
						emit("type %s%s %s", s.Name.Name, typeParams(fset, s.TypeParams), kind(fset, s.Type))
						for _, m := range fieldLines(fset, s.Type) {
							emit("type %s %s", s.Name.Name, m)
						}
					case *ast.ValueSpec:
						for i, n := range s.Names {
							if !n.IsExported() {
								continue
							}
							tok := d.Tok.String()
							switch {
							case s.Type != nil:
								emit("%s %s %s", tok, n.Name, node(fset, s.Type))
							case tok == "const" && i < len(s.Values):
								emit("const %s = %s", n.Name, node(fset, s.Values[i]))
							default:
								emit("%s %s", tok, n.Name)
							}
						}
					}
				}
			}
		}
	}
	return lines
}

// members lists the exported fields and methods of type name in the
// module's package dir, as "field F T" and "method (R) M(...)".
func members(t *testing.T, dir, name string) []string {
	fset := token.NewFileSet()
	var out []string
	for _, f := range parseDir(t, fset, dir) {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil || !d.Name.IsExported() {
					continue
				}
				recv := node(fset, d.Recv.List[0].Type)
				if strings.TrimLeft(recv, "*") == name {
					out = append(out, fmt.Sprintf("method (%s) %s%s", recv, d.Name.Name, signature(fset, d.Type)))
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					if ts, ok := s.(*ast.TypeSpec); ok && ts.Name.Name == name {
						out = append(out, fieldLines(fset, ts.Type)...)
					}
				}
			}
		}
	}
	return out
}

// parseDir parses the non-test files of the module's package dir that the
// default build compiles.
func parseDir(t *testing.T, fset *token.FileSet, dir string) []*ast.File {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var files []*ast.File
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		ok, err := build.Default.MatchFile(dir, n)
		require.NoError(t, err)
		if !ok {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		files = append(files, f)
	}
	return files
}

func kind(fset *token.FileSet, e ast.Expr) string {
	switch e.(type) {
	case *ast.StructType:
		return "struct"
	case *ast.InterfaceType:
		return "interface"
	}
	return node(fset, e)
}

// fieldLines lists the exported fields of a struct type and the methods of
// an interface type; for other types it gives the underlying type.
func fieldLines(fset *token.FileSet, e ast.Expr) []string {
	var out []string
	switch e := e.(type) {
	case *ast.StructType:
		for _, f := range e.Fields.List {
			if len(f.Names) == 0 { // embedded
				if n := strings.TrimLeft(node(fset, f.Type), "*"); ast.IsExported(n[strings.LastIndex(n, ".")+1:]) {
					out = append(out, "embedded "+node(fset, f.Type))
				}
				continue
			}
			for _, n := range f.Names {
				if n.IsExported() {
					out = append(out, fmt.Sprintf("field %s %s", n.Name, node(fset, f.Type)))
				}
			}
		}
	case *ast.InterfaceType:
		for _, m := range e.Methods.List {
			for _, n := range m.Names {
				out = append(out, fmt.Sprintf("method %s%s", n.Name, signature(fset, m.Type.(*ast.FuncType))))
			}
			if len(m.Names) == 0 {
				out = append(out, "embedded "+node(fset, m.Type))
			}
		}
	}
	return out
}

func typeParams(fset *token.FileSet, l *ast.FieldList) string {
	if l == nil {
		return ""
	}
	var ps []string
	for _, f := range l.List {
		var names []string
		for _, n := range f.Names {
			names = append(names, n.Name)
		}
		ps = append(ps, strings.Join(names, ", ")+" "+node(fset, f.Type))
	}
	return "[" + strings.Join(ps, ", ") + "]"
}

// signature prints a function type without parameter names, so that
// renaming a parameter is not an API change.
func signature(fset *token.FileSet, ft *ast.FuncType) string {
	types := func(l *ast.FieldList) []string {
		var out []string
		if l == nil {
			return out
		}
		for _, f := range l.List {
			for range max(1, len(f.Names)) {
				out = append(out, node(fset, f.Type))
			}
		}
		return out
	}
	s := typeParams(fset, ft.TypeParams) + "(" + strings.Join(types(ft.Params), ", ") + ")"
	switch res := types(ft.Results); len(res) {
	case 0:
	case 1:
		s += " " + res[0]
	default:
		s += " (" + strings.Join(res, ", ") + ")"
	}
	return s
}

func node(fset *token.FileSet, n any) string {
	var b bytes.Buffer
	if err := printer.Fprint(&b, fset, n); err != nil {
		panic(err)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

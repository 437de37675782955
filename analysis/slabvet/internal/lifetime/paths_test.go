package lifetime

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/tools/go/ssa"
	"golang.org/x/tools/go/ssa/ssautil"
)

// buildFunc returns the SSA form of function name in src, a package "p".
func buildFunc(t *testing.T, src, name string) *ssa.Function {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	require.NoError(t, err, "the source parses")
	pkg, _, err := ssautil.BuildPackage(&types.Config{Importer: importer.Default()}, fset,
		types.NewPackage("p", "p"), []*ast.File{f}, 0)
	require.NoError(t, err, "the source type-checks")
	fn := pkg.Func(name)
	require.NotNil(t, fn, "the package has %s", name)
	return fn
}

// callsTo returns a stop function for calls to the function named name.
func callsTo(name string) func(ssa.Instruction) bool {
	return func(in ssa.Instruction) bool {
		c, ok := in.(*ssa.Call)
		return ok && c.Call.StaticCallee() != nil && c.Call.StaticCallee().Name() == name
	}
}

func TestReach(t *testing.T) {
	tests := []struct {
		name string
		body string
		want int // returns reached from the entry without calling free
	}{
		{"free on every path", "free(); return", 0},
		{"free on one branch", "if c { free() }; return", 1},
		{"a condition tested twice", "if c { free() }; work(); if !c { free() }; return", 0},
		{"a comparison tested twice", "if n == 3 { free() }; work(); if n != 3 { free() }; return", 0},
		{"two different conditions", "if c { free() }; if n == 3 { free() }; return", 1},
		{"a panic ends the path", "if c { panic(1) }; free(); return", 0},
		{"a type switch on a boxed int", "var v any = n; switch v.(type) { case int: free() }; return", 0},
		{"an early return", "if c { return }; free(); return", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "package p\nfunc free() {}\nfunc work() {}\nfunc f(c bool, n int) { " + tt.body + " }\n"
			fn := buildFunc(t, src, "f")
			got := Reach(fn, nil, callsTo("free"), nil)
			assert.Len(t, got, tt.want, "returns reached without free in %q", tt.body)
		})
	}
}

// TestReachManyConditions checks that a function testing many conditions
// twice each, whose (block, decisions) states outnumber the bound, is
// still searched, without the correlation: the return is found.
func TestReachManyConditions(t *testing.T) {
	var b strings.Builder
	b.WriteString("package p\nfunc free() {}\nfunc work() {}\nfunc f(")
	const n = 40
	for i := range n {
		fmt.Fprintf(&b, "c%d, ", i)
	}
	b.WriteString("last bool) {\n")
	for round := range 2 {
		for i := range n {
			fmt.Fprintf(&b, "if c%d { work() }\n", i)
		}
		if round == 0 {
			b.WriteString("work()\n")
		}
	}
	b.WriteString("if last { free() }\n}\n")
	fn := buildFunc(t, b.String(), "f")
	got := Reach(fn, nil, callsTo("free"), nil)
	assert.Len(t, got, 1, "the return after a skipped free is found")
}

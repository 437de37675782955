// Package scopecopy defines an analyzer that reports copies of slab.Scope
// and slab.Pool values that vet's copylocks check does not report.
package scopecopy

import (
	"go/ast"
	"go/types"
	"reflect"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"

	"github.com/slabtrack/slabtrack/analysis/slabvet/internal/lifetime"
	"github.com/slabtrack/slabtrack/analysis/slabvet/internal/slabapi"
)

const doc = `report copies of slab.Scope and slab.Pool that copylocks misses

A Scope or Pool must not be copied after first use: the copy shares the
original's slots and both hand them out. Both types carry a noCopy marker,
so vet's copylocks check reports most copies (assignments, arguments,
results, range variables, composite literals). scopecopy reports the copies
that copylocks lets through:

  - *f() where f returns a pointer to a live Scope or Pool, such as
    *slab.ScopeFrom(ctx): copylocks assumes a call returns a fresh value;
  - a Scope or Pool value (or one that holds it) sent on a channel;
  - append to, or copy between, slices whose elements hold a Scope or Pool
    by value: growing the slice copies every element to a new array; and
    slices.Clone, Grow, Insert and Concat, maps.Clone and Copy, which copy
    elements or values the same way.

Use *slab.Scope and *slab.Pool[T] instead.`

// Analyzer is the scopecopy check.
var Analyzer = &analysis.Analyzer{
	Name:       "scopecopy",
	Doc:        doc,
	URL:        "https://pkg.go.dev/github.com/slabtrack/slabtrack/analysis/slabvet/scopecopy",
	Requires:   []*analysis.Analyzer{inspect.Analyzer},
	ResultType: reflect.TypeFor[[]analysis.Diagnostic](),
	Run:        run,
}

func run(pass *analysis.Pass) (any, error) {
	rep := lifetime.NewReporter(pass, "scopecopy", lifetime.ParseNotes(pass))
	ins := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)
	filter := []ast.Node{(*ast.StarExpr)(nil), (*ast.SendStmt)(nil), (*ast.CallExpr)(nil)}
	ins.WithStack(filter, func(n ast.Node, push bool, stack []ast.Node) bool {
		if !push {
			return true
		}
		switch n := n.(type) {
		case *ast.StarExpr:
			checkDeref(pass, rep, n, stack)
		case *ast.SendStmt:
			if _, ok := ast.Unparen(n.Value).(*ast.CompositeLit); ok {
				return true
			}
			if what := holds(pass.TypesInfo.TypeOf(n.Value)); what != "" {
				rep.Report(analysis.Diagnostic{Pos: n.Arrow, Message: "send copies a " + what + ": send a pointer"})
			}
		case *ast.CallExpr:
			checkGrow(pass, rep, n)
		}
		return true
	})
	return rep.Diags, nil
}

// checkDeref reports *f() used as a value, when f's result may point to a
// Scope or Pool in use.
func checkDeref(pass *analysis.Pass, rep *lifetime.Reporter, star *ast.StarExpr, stack []ast.Node) {
	call, ok := ast.Unparen(star.X).(*ast.CallExpr)
	if !ok {
		return
	}
	tv, ok := pass.TypesInfo.Types[star]
	if !ok || !tv.IsValue() {
		return
	}
	what := holds(tv.Type)
	if what == "" || fresh(pass, call) {
		return
	}
	// Only where the value is copied: not (*f()).Method() or &*f().
	var parent ast.Node
	for i := len(stack) - 2; i >= 0; i-- {
		if _, ok := stack[i].(*ast.ParenExpr); !ok {
			parent = stack[i]
			break
		}
	}
	switch p := parent.(type) {
	case *ast.AssignStmt, *ast.ValueSpec, *ast.ReturnStmt, *ast.CompositeLit, *ast.KeyValueExpr, *ast.SendStmt:
	case *ast.CallExpr:
		if p.Fun == star || ast.Unparen(p.Fun) == star {
			return
		}
	default:
		return
	}
	rep.Report(analysis.Diagnostic{Pos: star.Pos(), Message: "*" + callName(call) + "() copies the " + what + " it points to: keep the pointer"})
}

// fresh reports whether call returns a pointer to a new zero value:
// slab.NewScope and slab.New.
func fresh(pass *analysis.Pass, call *ast.CallExpr) bool {
	fn := calledFunc(pass, call)
	if fn == nil {
		return false
	}
	api, ok := slabapi.Lookup(fn)
	return ok && (api.Role == slabapi.NewScope || api.Role == slabapi.NewPool)
}

func calledFunc(pass *analysis.Pass, call *ast.CallExpr) *types.Func {
	fun := ast.Unparen(call.Fun)
	if ix, ok := fun.(*ast.IndexExpr); ok {
		fun = ix.X
	}
	if ix, ok := fun.(*ast.IndexListExpr); ok {
		fun = ix.X
	}
	var id *ast.Ident
	switch f := fun.(type) {
	case *ast.Ident:
		id = f
	case *ast.SelectorExpr:
		id = f.Sel
	default:
		return nil
	}
	fn, _ := pass.TypesInfo.Uses[id].(*types.Func)
	return fn
}

func callName(call *ast.CallExpr) string {
	switch f := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		if x, ok := f.X.(*ast.Ident); ok {
			return x.Name + "." + f.Sel.Name
		}
		return f.Sel.Name
	}
	return "f"
}

// checkGrow reports append and copy on slices whose elements hold a Scope
// or Pool by value, and the functions of packages slices and maps that copy
// elements or values the same way.
func checkGrow(pass *analysis.Pass, rep *lifetime.Reporter, call *ast.CallExpr) {
	if len(call.Args) == 0 {
		return
	}
	if id, ok := ast.Unparen(call.Fun).(*ast.Ident); ok {
		if _, ok := pass.TypesInfo.Uses[id].(*types.Builtin); !ok || (id.Name != "append" && id.Name != "copy") {
			return
		}
		s, ok := pass.TypesInfo.TypeOf(call.Args[0]).Underlying().(*types.Slice)
		if !ok {
			return
		}
		if what := holds(s.Elem()); what != "" {
			rep.Report(analysis.Diagnostic{Pos: call.Pos(), Message: id.Name + " copies the elements of a slice that hold a " + what + " by value: use a slice of pointers"})
		}
		return
	}
	fn := calledFunc(pass, call)
	if fn == nil || fn.Pkg() == nil {
		return
	}
	name := fn.Pkg().Path() + "." + fn.Name()
	switch name {
	case "slices.Clone", "slices.Grow", "slices.Insert", "slices.Concat":
		if s, ok := pass.TypesInfo.TypeOf(call).Underlying().(*types.Slice); ok {
			if what := holds(s.Elem()); what != "" {
				rep.Report(analysis.Diagnostic{Pos: call.Pos(), Message: name + " copies the elements of a slice that hold a " + what + " by value: use a slice of pointers"})
			}
		}
	case "maps.Clone", "maps.Copy":
		if m, ok := pass.TypesInfo.TypeOf(call.Args[0]).Underlying().(*types.Map); ok {
			if what := holds(m.Elem()); what != "" {
				rep.Report(analysis.Diagnostic{Pos: call.Pos(), Message: name + " copies the values of a map that hold a " + what + " by value: use a map of pointers"})
			}
		}
	}
}

// holds returns "slab.Scope" or "slab.Pool" if a value of type t contains
// one by value (directly, or in a field or array element), or "".
func holds(t types.Type) string {
	return holdsSeen(t, map[types.Type]bool{})
}

func holdsSeen(t types.Type, seen map[types.Type]bool) string {
	if t == nil || seen[t] {
		return ""
	}
	seen[t] = true
	for _, name := range slabapi.NoCopyTypes {
		if slabapi.IsNamed(t, slabapi.SlabPath, name, false) {
			return "slab." + name
		}
	}
	switch u := t.Underlying().(type) {
	case *types.Array:
		return holdsSeen(u.Elem(), seen)
	case *types.Struct:
		for f := range u.Fields() {
			if w := holdsSeen(f.Type(), seen); w != "" {
				return w
			}
		}
	}
	return ""
}

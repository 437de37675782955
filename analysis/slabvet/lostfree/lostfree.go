// Package lostfree defines an analyzer that reports objects from
// slab.Pool's Alloc, TryAlloc and AllocRef that a function can lose: a path
// reaches a return without freeing the object, returning it, storing it, or
// passing it to a function that may keep it.
package lostfree

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/printer"
	"go/token"
	"go/types"
	"reflect"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ssa"

	"github.com/slabtrack/slabtrack/analysis/slabvet/internal/lifetime"
	"github.com/slabtrack/slabtrack/analysis/slabvet/internal/slabapi"
)

const doc = `report pool objects that a path loses without Free

An object from (*slab.Pool).Alloc, TryAlloc or AllocRef, or from a
function that hands over an object it allocated (a constructor, known from
its package's analysis), must be freed, returned, stored, or handed to a
function that keeps it. lostfree reports
each return statement that some path from the allocation reaches without
doing one of these, as lostcancel does for context cancel functions. An
object put in a field of a local struct is followed through the struct:
freeing the field, returning or keeping the struct, or handing it to a
function that frees or keeps it ends the path; an error path that drops
the struct loses the object. Paths
on which the object is nil (TryAlloc failed) and paths that panic are not
reported. Objects of a pool that the function creates and does not let
escape are not reported either: the pool and its objects go together.

Where the object is only used locally, the diagnostic suggests
"defer p.Free(x)" after the allocation.`

// Analyzer is the lostfree check.
var Analyzer = &analysis.Analyzer{
	Name:       "lostfree",
	Doc:        doc,
	URL:        "https://pkg.go.dev/github.com/slabtrack/slabtrack/analysis/slabvet/lostfree",
	Requires:   []*analysis.Analyzer{lifetime.Analyzer},
	ResultType: reflect.TypeFor[[]analysis.Diagnostic](),
	Run:        run,
}

func run(pass *analysis.Pass) (any, error) {
	env := pass.ResultOf[lifetime.Analyzer].(*lifetime.Env)
	rep := lifetime.NewReporter(pass, "lostfree", env.Notes)
	for _, fn := range env.Funcs {
		for _, oc := range env.OwnedCalls(fn) {
			check(env, rep, fn, oc)
		}
	}
	return rep.Diags, nil
}

func check(env *lifetime.Env, rep *lifetime.Reporter, fn *ssa.Function, oc lifetime.OwnedCall) {
	call, api := oc.Call, oc.API
	if oc.Via == nil && localPool(env, fn, call.Call.Args[0]) {
		return
	}
	obj, errv := results(call)
	line := lifetime.Line(env, call.Pos())
	if obj == nil {
		// A call for its panic or its error (p.TryAlloc on a pool
		// expected to be full) has nothing to lose.
		if panicTest(fn) || (errv != nil && used(errv)) {
			return
		}
		rep.Report(analysis.Diagnostic{
			Pos:     call.Pos(),
			Message: fmt.Sprintf("the object from %s is dropped without Free", api.Name),
		})
		return
	}
	t := env.Trace(fn, false, lifetime.Root{V: obj, Class: lifetime.Direct, Must: true})
	consumers := map[ssa.Instruction]bool{}
	for _, e := range t.Events {
		// A store into a local struct's field is not one: the trace goes
		// on through the struct, and the object is lost with it.
		if e.Kind != lifetime.Borrow && !(e.Kind == lifetime.Contained && e.Held) {
			consumers[e.Instr] = true
		}
	}
	nilPrune := t.NilPrune(errv)
	prune := func(in *ssa.If) int {
		if k := nilPrune(in); k >= 0 {
			return k
		}
		return lifetime.FailedTestPrune(in)
	}
	stop := func(in ssa.Instruction) bool { return consumers[in] || lifetime.FailsTest(in) }
	rets := lifetime.Reach(fn, call, stop, prune)
	name := lifetime.Name(obj)
	var fix []analysis.SuggestedFix
	if len(rets) > 0 && oc.Via == nil {
		fix = suggestDefer(env, fn, call, api, t, name)
	}
	for _, r := range rets {
		d := analysis.Diagnostic{Pos: r.Pos(), SuggestedFixes: fix}
		if r.Pos().IsValid() {
			d.Message = fmt.Sprintf("this return statement may be reached without freeing %s (allocated on line %d)", name, line)
		} else {
			d.Pos = lifetime.End(fn)
			d.Message = fmt.Sprintf("the function may end without freeing %s (allocated on line %d)", name, line)
		}
		rep.Report(d, call.Pos())
		fix = nil // one fix, on the first report
	}
}

// results returns the object a call returns and, for TryAlloc, its error;
// obj is nil if the object is dropped.
func results(call *ssa.Call) (obj, errv ssa.Value) {
	if _, ok := call.Type().(*types.Tuple); !ok {
		if used(call) {
			obj = call
		}
		return obj, nil
	}
	for _, r := range *call.Referrers() {
		if ex, ok := r.(*ssa.Extract); ok {
			switch {
			case ex.Index == 0 && used(ex):
				obj = ex
			case ex.Index == 1:
				errv = ex
			}
		}
	}
	return obj, errv
}

func used(v ssa.Value) bool {
	for _, r := range *v.Referrers() {
		if _, ok := r.(*ssa.DebugRef); !ok {
			return true
		}
	}
	return false
}

// localPool reports whether pool comes from slab.New in fn and does not
// leave it: then the pool and any object it still holds are dropped
// together, which the pool's documentation allows.
func localPool(env *lifetime.Env, fn *ssa.Function, pool ssa.Value) bool {
	mk, ok := lifetime.MustRoot(pool).(*ssa.Call)
	if !ok || mk.Parent() != fn {
		return false
	}
	callee := mk.Call.StaticCallee()
	if callee == nil {
		return false
	}
	if api, ok := env.API(callee); !ok || api.Role != slabapi.NewPool {
		return false
	}
	t := env.Trace(fn, false, lifetime.Root{V: mk, Class: lifetime.Direct, Must: true})
	for _, e := range t.Events {
		switch e.Kind {
		case lifetime.Returned:
			return false
		case lifetime.Escaped:
			// A function that registers the pool somewhere (weak.Make,
			// say) is not taken to keep it alive.
			if e.Callee == nil {
				return false
			}
		case lifetime.Retained:
			switch e.Instr.(type) {
			case *ssa.Store, *ssa.MapUpdate, *ssa.Send:
				return false
			}
		}
	}
	return true
}

// suggestDefer returns the obvious fix when there is one: the object is
// only used locally, outside any loop, and freed only by plain Free
// statements on the same pool; then "defer p.Free(x)" after the allocation
// replaces those statements.
func suggestDefer(env *lifetime.Env, fn *ssa.Function, call *ssa.Call, api slabapi.Func, t *lifetime.Trace, name string) []analysis.SuggestedFix {
	if api.Name == "TryAlloc" || inLoop(call.Block()) {
		return nil
	}
	file, stmt, recv := allocStmt(env, fn, call.Pos())
	if stmt == nil {
		return nil
	}
	freeName := "Free"
	if api.Role == slabapi.AllocRef {
		freeName = "FreeRef"
	}
	var edits []analysis.TextEdit
	for _, e := range t.Events {
		if e.Kind == lifetime.Borrow {
			continue
		}
		if e.Kind != lifetime.Freed || e.Deferred {
			return nil
		}
		fs := freeStmt(env, file, e.Instr.Pos(), recv, freeName, name)
		if fs == nil {
			return nil
		}
		edits = append(edits, deleteLine(env, fs))
	}
	indent := env.Pass.Fset.Position(stmt.Pos()).Column - 1
	tf := env.Pass.Fset.File(stmt.Pos())
	src, err := env.Pass.ReadFile(tf.Name())
	pad := "\t"
	if err == nil {
		off := tf.Offset(stmt.Pos())
		if off-indent >= 0 {
			pad = string(src[off-indent : off])
		}
	}
	text := fmt.Sprintf("\n%sdefer %s.%s(%s)", pad, recv, freeName, name)
	edits = append([]analysis.TextEdit{{Pos: stmt.End(), End: stmt.End(), NewText: []byte(text)}}, edits...)
	return []analysis.SuggestedFix{{
		Message:   fmt.Sprintf("Free %s with a deferred %s.%s", name, recv, freeName),
		TextEdits: edits,
	}}
}

// allocStmt finds the statement "x := recv.Alloc()" whose call has its
// '(' at lparen, and the receiver's source text.
func allocStmt(env *lifetime.Env, fn *ssa.Function, lparen token.Pos) (*ast.File, *ast.AssignStmt, string) {
	file := fileAt(env, lparen)
	if file == nil {
		return nil, nil, ""
	}
	var found *ast.AssignStmt
	var recv string
	ast.Inspect(file, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || found != nil {
			return found == nil
		}
		if len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			return true
		}
		c, ok := as.Rhs[0].(*ast.CallExpr)
		if !ok || c.Lparen != lparen {
			return true
		}
		sel, ok := c.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if _, ok := as.Lhs[0].(*ast.Ident); !ok {
			return true
		}
		found, recv = as, exprString(env, sel.X)
		return false
	})
	return file, found, recv
}

// freeStmt finds the statement "recv.Free(name)" whose call has its '(' at
// lparen.
func freeStmt(env *lifetime.Env, file *ast.File, lparen token.Pos, recv, freeName, name string) *ast.ExprStmt {
	var found *ast.ExprStmt
	ast.Inspect(file, func(n ast.Node) bool {
		es, ok := n.(*ast.ExprStmt)
		if !ok || found != nil {
			return found == nil
		}
		c, ok := es.X.(*ast.CallExpr)
		if !ok || c.Lparen != lparen || len(c.Args) != 1 {
			return true
		}
		sel, ok := c.Fun.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != freeName || exprString(env, sel.X) != recv || exprString(env, c.Args[0]) != name {
			return true
		}
		found = es
		return false
	})
	return found
}

func fileAt(env *lifetime.Env, pos token.Pos) *ast.File {
	for _, f := range env.Pass.Files {
		if f.FileStart <= pos && pos < f.FileEnd {
			return f
		}
	}
	return nil
}

func exprString(env *lifetime.Env, e ast.Expr) string {
	var b bytes.Buffer
	if err := printer.Fprint(&b, env.Pass.Fset, e); err != nil {
		return ""
	}
	return b.String()
}

// inLoop reports whether b can run more than once.
func inLoop(b *ssa.BasicBlock) bool {
	seen := map[*ssa.BasicBlock]bool{}
	stack := append([]*ssa.BasicBlock(nil), b.Succs...)
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if x == b {
			return true
		}
		if !seen[x] {
			seen[x] = true
			stack = append(stack, x.Succs...)
		}
	}
	return false
}

// panicTest reports whether fn is a function literal whose body is one
// statement, as in require.Panics(t, func() { p.Alloc() }): the call is
// expected to panic, and there is no object to lose.
func panicTest(fn *ssa.Function) bool {
	lit, ok := fn.Syntax().(*ast.FuncLit)
	return ok && fn.Parent() != nil && len(lit.Body.List) == 1
}

// deleteLine returns the edit that deletes stmt, and its whole line if the
// line holds nothing else.
func deleteLine(env *lifetime.Env, stmt ast.Stmt) analysis.TextEdit {
	e := analysis.TextEdit{Pos: stmt.Pos(), End: stmt.End()}
	tf := env.Pass.Fset.File(stmt.Pos())
	src, err := env.Pass.ReadFile(tf.Name())
	if err != nil {
		return e
	}
	start, end := tf.Offset(stmt.Pos()), tf.Offset(stmt.End())
	ls := start
	for ls > 0 && (src[ls-1] == ' ' || src[ls-1] == '\t') {
		ls--
	}
	le := end
	for le < len(src) && (src[le] == ' ' || src[le] == '\t') {
		le++
	}
	if (ls == 0 || src[ls-1] == '\n') && le < len(src) && src[le] == '\n' {
		e.Pos, e.End = tf.Pos(ls), tf.Pos(le+1)
	}
	return e
}

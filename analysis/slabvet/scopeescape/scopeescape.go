// Package scopeescape defines an analyzer that reports memory allocated in a
// slab.Scope that outlives the scope.
package scopeescape

import (
	"fmt"
	"go/types"
	"reflect"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ssa"

	"github.com/slabtrack/slabtrack/analysis/slabvet/internal/lifetime"
	"github.com/slabtrack/slabtrack/analysis/slabvet/internal/slabapi"
)

const doc = `report scoped objects that escape their scope

An object from (*slab.Pool).AllocIn(s) (or TryAllocIn, the scope's other
allocating functions, and any function that returns what it allocated in a
scope it was given) belongs to s: s.Release frees it, and slabhttp's
middleware releases the request's scope when the handler returns.
scopeescape reports such an object, a pointer into it, or a value that holds
it, when it is

  - stored in a package-level variable, or in the receiver or captured
    state of an HTTP handler, which serve many requests;
  - sent on a channel, or handed to a go statement, unless every path from
    there to a return waits (sync.WaitGroup.Wait, errgroup.Group.Wait, a
    channel receive): a synchronous hand-off is not reported;
  - returned from a function that releases its scope;
  - passed to Pool.Free, which panics with ErrScoped;
  - passed to a function that does one of these (known from its package's
    analysis, or from a //slabvet:retains comment).

A store into a field of an object of unknown lifetime (a parameter's, say)
is not reported.`

// Analyzer is the scopeescape check.
var Analyzer = &analysis.Analyzer{
	Name:       "scopeescape",
	Doc:        doc,
	URL:        "https://pkg.go.dev/github.com/slabtrack/slabtrack/analysis/slabvet/scopeescape",
	Requires:   []*analysis.Analyzer{lifetime.Analyzer},
	ResultType: reflect.TypeFor[[]analysis.Diagnostic](),
	Run:        run,
}

func run(pass *analysis.Pass) (any, error) {
	env := pass.ResultOf[lifetime.Analyzer].(*lifetime.Env)
	rep := lifetime.NewReporter(pass, "scopeescape", env.Notes)
	for _, fn := range env.Funcs {
		var releases []ssa.CallInstruction
		for _, b := range fn.Blocks {
			for _, in := range b.Instrs {
				call, ok := in.(ssa.CallInstruction)
				if !ok || call.Common().StaticCallee() == nil {
					continue
				}
				if api, ok := env.API(call.Common().StaticCallee()); ok && api.Role == slabapi.Release {
					releases = append(releases, call)
				}
			}
		}
		for _, sc := range env.ScopedCalls(fn) {
			check(env, rep, fn, sc, releases)
		}
	}
	return rep.Diags, nil
}

func check(env *lifetime.Env, rep *lifetime.Reporter, fn *ssa.Function, sc lifetime.ScopedCall, releases []ssa.CallInstruction) {
	call, api := sc.Call, sc.API
	var t *lifetime.Trace
	var name string
	if api.Role == slabapi.DecodeIn {
		if api.Arg < 0 || api.Arg >= len(call.Call.Args) {
			return
		}
		dst := lifetime.MustRoot(call.Call.Args[api.Arg])
		t = env.TraceDecoded(fn, dst)
		name = "what " + api.Name + " decoded into " + lifetime.Name(dst)
	} else {
		obj := lifetime.FirstResult(call)
		if obj == nil {
			return
		}
		t = env.Trace(fn, false, lifetime.Root{V: obj, Class: lifetime.Direct, Must: true})
		name = lifetime.Name(obj)
	}
	scope := lifetime.MustRoot(sc.Scope)
	for _, e := range t.Events {
		p := e.Instr.Pos()
		if !p.IsValid() {
			p = call.Pos()
		}
		switch e.Kind {
		case lifetime.Escaped:
			if e.Go && lifetime.Waits(e.Instr) {
				continue
			}
			why := e.Why
			if e.Callee != nil {
				why = fmt.Sprintf("passed to %s, where it is %s", e.Callee.Name(), e.Why)
			}
			rep.Report(analysis.Diagnostic{Pos: p, Message: fmt.Sprintf("%s is allocated in a scope and escapes it: %s", name, why)})
		case lifetime.Freed:
			if t.Values[e.Value]&lifetime.Direct == 0 {
				continue
			}
			msg := fmt.Sprintf("%s is owned by its scope: Pool.Free of it panics with ErrScoped; the scope's Release frees it", name)
			if e.Callee == nil {
				continue
			}
			if api, ok := env.API(e.Callee); !ok || (api.Role != slabapi.Free && api.Role != slabapi.FreeRef) {
				msg = fmt.Sprintf("%s is owned by its scope, but %s frees it: Pool.Free of it panics with ErrScoped", name, e.Callee.Name())
			}
			rep.Report(analysis.Diagnostic{Pos: p, Message: msg})
		case lifetime.Returned:
			if rel := releasedBefore(env, scope, e.Instr, releases); rel != nil {
				msg := fmt.Sprintf("%s is returned, but its scope is released on line %d", name, lifetime.Line(env, rel.Pos()))
				if _, ok := rel.(*ssa.Defer); ok {
					msg = fmt.Sprintf("%s is returned, but its scope is released when the function returns (deferred on line %d)", name, lifetime.Line(env, rel.Pos()))
				}
				if !isPointerLike(e.Value.Type()) {
					continue
				}
				rep.Report(analysis.Diagnostic{Pos: p, Message: msg})
			}
		}
	}
}

// releasedBefore returns the Release of scope that runs before ret on every
// path: a deferred one registered before it, or a direct call before it.
func releasedBefore(env *lifetime.Env, scope ssa.Value, ret ssa.Instruction, releases []ssa.CallInstruction) ssa.CallInstruction {
	for _, r := range releases {
		if len(r.Common().Args) == 0 || lifetime.MustRoot(r.Common().Args[0]) != scope {
			continue
		}
		if lifetime.Dominates(r, ret) {
			return r
		}
	}
	return nil
}

// isPointerLike reports whether a value of type t can refer to memory.
func isPointerLike(t types.Type) bool {
	if b, ok := t.Underlying().(*types.Basic); ok {
		return b.Info()&types.IsString != 0 || b.Kind() == types.UnsafePointer
	}
	return true
}

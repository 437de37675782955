// Package scopeescape defines an analyzer that reports memory allocated in a
// slab.Scope that outlives the scope.
package scopeescape

import (
	"cmp"
	"fmt"
	"go/types"
	"reflect"
	"slices"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ssa"

	"github.com/slabtrack/slabtrack/analysis/slabvet/internal/lifetime"
	"github.com/slabtrack/slabtrack/analysis/slabvet/internal/slabapi"
)

const doc = `report scoped objects, slices and strings that escape their scope

Memory from (*slab.Pool).AllocIn(s) (or TryAllocIn, slab.NewIn,
MakeSliceIn, AppendIn, StringIn, NewValueIn, MakeSliceValueIn, and any
function that returns what it allocated in a scope it was given, or in the
scope of its request's context) belongs to s, and so does everything that
slabjson's Unmarshal and Decoder.Unmarshal decode into s, strings included:
s.Release, or the ScopePool's Put, frees it, and slabhttp's middleware
releases the request's scope when the handler returns. scopeescape reports
such memory, a pointer into it, a field read from decoded memory (req.ID),
or a value that holds any of these (Response{ID: req.ID}), when it is

  - stored in a package-level variable (a map's key or value, a slice's
    element, a field), or in the receiver or captured state of an HTTP
    handler, which serve many requests;
  - handed to a function that keeps it in one of its other arguments, when
    that argument is such memory: a method of a package-level cache that
    puts the value in its map, sync.Map.Store on a package-level map;
  - sent on a channel, or handed to a go statement, errgroup's Go,
    WaitGroup.Go or time.AfterFunc, unless every path from there to a
    return waits (sync.WaitGroup.Wait, errgroup.Group.Wait, a channel
    receive): a synchronous hand-off is not reported;
  - returned, alone or in a struct, from a function that releases its
    scope: by Release, by Put, by a function that releases it, or by a
    deferred function literal that does;
  - passed to Pool.Free, which panics with ErrScoped;
  - passed to a function that does one of these (known from its package's
    analysis, or from a //slabvet:retains comment).

The message names the fix: strings.Clone for a string, slices.Clone for a
slice of plain values, otherwise a copy made before the scope ends. A
store into a field of an object of unknown lifetime (a parameter's, say)
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
		releases := env.ScopeReleases(fn)
		calls := env.ScopedCalls(fn)
		// Objects before decoded memory: where both reach one place (a
		// scoped slice of decoded strings), the object's report says more.
		slices.SortStableFunc(calls, func(a, b lifetime.ScopedCall) int {
			return cmp.Compare(rank(a), rank(b))
		})
		for _, sc := range calls {
			check(env, rep, fn, sc, releases)
		}
	}
	return rep.Diags, nil
}

func check(env *lifetime.Env, rep *lifetime.Reporter, fn *ssa.Function, sc lifetime.ScopedCall, releases []lifetime.ScopeRelease) {
	call, api := sc.Call, sc.API
	var t *lifetime.Trace
	var root ssa.Value
	decoded := api.Role == slabapi.DecodeIn || sc.Decoded
	if api.Role == slabapi.DecodeIn {
		if api.Arg < 0 || api.Arg >= len(call.Call.Args) {
			return
		}
		root = lifetime.MustRoot(call.Call.Args[api.Arg])
		t = env.TraceDecoded(fn, root)
	} else {
		root = lifetime.FirstResult(call)
		if root == nil {
			return
		}
		t = env.TraceScoped(fn, sc, root)
	}
	// name says what escapes and where it was allocated, fix how to keep
	// it: what escapes is the field read from decoded memory, if one was.
	name := func(v ssa.Value) (string, string) {
		if !decoded {
			return lifetime.Name(root) + " is allocated in a scope", lifetime.Fix(root.Type())
		}
		if o, text := lifetime.Origin(t, v); o != nil {
			return text + " is decoded into a scope by " + api.Name, lifetime.Fix(o.Type())
		}
		if sc.Decoded {
			return lifetime.Name(root) + " is decoded into a scope by " + api.Name, lifetime.Fix(root.Type())
		}
		return "what " + api.Name + " decoded into " + lifetime.Name(root) + " is in a scope", lifetime.Fix(root.Type())
	}
	scope := lifetime.MustRoot(sc.Scope)
	for _, e := range t.Events {
		p := e.Instr.Pos()
		if !p.IsValid() {
			p = call.Pos()
		}
		switch e.Kind {
		case lifetime.Escaped:
			if e.Go && lifetime.Waits(e.Instr) || t.Scrubbed(e.Value, e.Instr) {
				continue
			}
			why := e.Why
			if e.Callee != nil {
				why = fmt.Sprintf("passed to %s, where it is %s", e.Callee.Name(), e.Why)
			}
			what, fix := name(e.Value)
			rep.Report(analysis.Diagnostic{Pos: p, Message: fmt.Sprintf("%s and escapes it: %s; %s", what, why, fix)})
		case lifetime.Freed:
			if decoded || t.Values[e.Value]&lifetime.Direct == 0 || e.Callee == nil {
				continue
			}
			n := lifetime.Name(root)
			msg := fmt.Sprintf("%s is owned by its scope: Pool.Free of it panics with ErrScoped; the scope's Release frees it", n)
			if api, ok := env.API(e.Callee); !ok || (api.Role != slabapi.Free && api.Role != slabapi.FreeRef) {
				msg = fmt.Sprintf("%s is owned by its scope, but %s frees it: Pool.Free of it panics with ErrScoped", n, e.Callee.Name())
			}
			rep.Report(analysis.Diagnostic{Pos: p, Message: msg})
		case lifetime.Returned:
			if !isPointerLike(e.Value.Type()) || t.Scrubbed(e.Value, e.Instr) {
				continue
			}
			rel := releasedBefore(scope, e.Instr, releases)
			if rel == nil {
				continue
			}
			what, fix := name(e.Value)
			when := fmt.Sprintf("on line %d", lifetime.Line(env, rel.Instr.Pos()))
			if _, ok := rel.Instr.(*ssa.Defer); ok {
				when = fmt.Sprintf("when the function returns (deferred on line %d)", lifetime.Line(env, rel.Instr.Pos()))
			}
			rep.Report(analysis.Diagnostic{Pos: p, Message: fmt.Sprintf("%s and returned, but the scope is %s %s: %s", what, rel.Verb, when, fix)})
		}
	}
}

func rank(sc lifetime.ScopedCall) int {
	if sc.API.Role == slabapi.DecodeIn || sc.Decoded {
		return 1
	}
	return 0
}

// releasedBefore returns the release of scope that runs before ret on every
// path: a deferred one registered before it, or a direct call before it.
func releasedBefore(scope ssa.Value, ret ssa.Instruction, releases []lifetime.ScopeRelease) *lifetime.ScopeRelease {
	for i, r := range releases {
		if r.Scope == scope && lifetime.Dominates(r.Instr, ret) {
			return &releases[i]
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

// Package useafterfree defines an analyzer that reports uses of pool objects
// after Free, second frees, and uses of scoped objects after their scope's
// Release.
package useafterfree

import (
	"fmt"
	"go/token"
	"reflect"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ssa"

	"github.com/slabtrack/slabtrack/analysis/slabvet/internal/lifetime"
	"github.com/slabtrack/slabtrack/analysis/slabvet/internal/slabapi"
)

const doc = `report uses of pool objects after Free, and double frees

A *T must not be used after (*slab.Pool).Free(x): its slot is zeroed and
handed to the next Alloc. useafterfree reports a field read or write, a
method call, or a pass to a function of a value that was freed on every
path reaching the use: by Free, FreeRef, a function that frees its
argument (known from its package's analysis, or from a //slabvet:frees
comment), or the scope's Release for an object from AllocIn. It reports a
second Free of the same value, an explicit Free of a value that a deferred
Free also frees, and a Free run in every iteration of a loop on a value
made before the loop. For a slab.Ref, Get, RefOf and FreeRef after FreeRef
are reported: they panic with ErrStaleRef.`

// Analyzer is the useafterfree check.
var Analyzer = &analysis.Analyzer{
	Name:       "useafterfree",
	Doc:        doc,
	URL:        "https://pkg.go.dev/github.com/slabtrack/slabtrack/analysis/slabvet/useafterfree",
	Requires:   []*analysis.Analyzer{lifetime.Analyzer},
	ResultType: reflect.TypeFor[[]analysis.Diagnostic](),
	Run:        run,
}

func run(pass *analysis.Pass) (any, error) {
	env := pass.ResultOf[lifetime.Analyzer].(*lifetime.Env)
	rep := lifetime.NewReporter(pass, "useafterfree", env.Notes)
	for _, fn := range env.Funcs {
		checkFrees(env, rep, fn)
		checkReleases(env, rep, fn)
	}
	return rep.Diags, nil
}

// checkFrees traces every value that fn frees.
func checkFrees(env *lifetime.Env, rep *lifetime.Reporter, fn *ssa.Function) {
	done := map[ssa.Value]bool{}
	for _, b := range fn.Blocks {
		for _, in := range b.Instrs {
			call, ok := in.(ssa.CallInstruction)
			if !ok {
				continue
			}
			for _, v := range freedArgs(env, call.Common()) {
				r := lifetime.MustRoot(v)
				if done[r] {
					continue
				}
				done[r] = true
				checkRoot(env, rep, fn, r)
			}
		}
	}
}

// freedArgs returns the arguments that a call frees.
func freedArgs(env *lifetime.Env, c *ssa.CallCommon) []ssa.Value {
	callee := c.StaticCallee()
	if callee == nil {
		return nil
	}
	if api, ok := env.API(callee); ok {
		if (api.Role == slabapi.Free || api.Role == slabapi.FreeRef) && api.Arg < len(c.Args) {
			return []ssa.Value{c.Args[api.Arg]}
		}
		return nil
	}
	s, ok := env.Summary(callee)
	if !ok {
		return nil
	}
	var out []ssa.Value
	for i, a := range c.Args {
		if i < 64 && s.Frees&(1<<i) != 0 {
			out = append(out, a)
		}
	}
	return out
}

func checkRoot(env *lifetime.Env, rep *lifetime.Reporter, fn *ssa.Function, r ssa.Value) {
	t := env.Trace(fn, false, lifetime.Root{V: r, Class: lifetime.Direct, Must: true})
	ref := slabapi.IsRef(r.Type())
	name := lifetime.Name(r)
	var frees, deferred []lifetime.Event
	for _, e := range t.Events {
		if e.Kind != lifetime.Freed || !e.Must {
			continue
		}
		if e.Deferred {
			deferred = append(deferred, e)
		} else if _, ok := e.Instr.(*ssa.Call); ok {
			frees = append(frees, e)
		}
	}
	for _, f := range frees {
		line := lifetime.Line(env, f.Instr.Pos())
		for v, c := range t.Values {
			if c&lifetime.Direct == 0 || !t.Must(v) {
				continue
			}
			for _, u := range *v.Referrers() {
				if u == f.Instr || !lifetime.Dominates(f.Instr, u) {
					continue
				}
				switch env.UseOf(u, v, ref) {
				case lifetime.Use:
					rep.Report(analysis.Diagnostic{Pos: pos(u, f.Instr), Message: fmt.Sprintf("%s is used after it was freed on line %d", name, line)})
				case lifetime.FreeUse:
					rep.Report(analysis.Diagnostic{Pos: pos(u, f.Instr), Message: fmt.Sprintf("%s is freed twice: it was already freed on line %d", name, line)})
				}
			}
		}
		if lifetime.InLoopEveryIteration(f.Instr, r) {
			rep.Report(analysis.Diagnostic{Pos: f.Instr.Pos(), Message: fmt.Sprintf("%s is freed in every iteration of the loop: a second iteration frees it twice", name)})
		}
		for _, d := range deferred {
			if lifetime.Dominates(d.Instr, f.Instr) {
				rep.Report(analysis.Diagnostic{Pos: f.Instr.Pos(), Message: fmt.Sprintf("%s is freed here and again by the deferred call on line %d", name, lifetime.Line(env, d.Instr.Pos()))})
			}
		}
	}
}

// checkReleases reports uses of scoped objects after their scope's Release.
func checkReleases(env *lifetime.Env, rep *lifetime.Reporter, fn *ssa.Function) {
	type alloc struct {
		call *ssa.Call
		obj  ssa.Value
	}
	allocs := map[ssa.Value][]alloc{} // by the scope's root
	var releases []*ssa.Call
	for _, b := range fn.Blocks {
		for _, in := range b.Instrs {
			call, ok := in.(*ssa.Call)
			if !ok || call.Call.StaticCallee() == nil || len(call.Call.Args) == 0 {
				continue
			}
			if api, ok := env.API(call.Call.StaticCallee()); ok && api.Role == slabapi.Release {
				releases = append(releases, call)
			}
		}
	}
	for _, sc := range env.ScopedCalls(fn) {
		if sc.API.Role != slabapi.AllocIn {
			continue
		}
		if obj := lifetime.FirstResult(sc.Call); obj != nil {
			s := lifetime.MustRoot(sc.Scope)
			allocs[s] = append(allocs[s], alloc{sc.Call, obj})
		}
	}
	for _, rel := range releases {
		line := lifetime.Line(env, rel.Pos())
		for _, a := range allocs[lifetime.MustRoot(rel.Call.Args[0])] {
			if !lifetime.Dominates(a.call, rel) {
				continue
			}
			t := env.Trace(fn, false, lifetime.Root{V: a.obj, Class: lifetime.Direct, Must: true})
			name := lifetime.Name(a.obj)
			for v, c := range t.Values {
				if c&lifetime.Direct == 0 || !t.Must(v) {
					continue
				}
				for _, u := range *v.Referrers() {
					if !lifetime.Dominates(rel, u) {
						continue
					}
					if env.UseOf(u, v, false) != lifetime.NoUse {
						rep.Report(analysis.Diagnostic{Pos: pos(u, rel), Message: fmt.Sprintf("%s is used after its scope was released on line %d", name, line)})
					}
				}
			}
		}
	}
}

// pos returns where to report a use: the use's position, or the free's if
// the use has none.
func pos(use, free ssa.Instruction) token.Pos {
	if p := use.Pos(); p.IsValid() {
		return p
	}
	return free.Pos()
}

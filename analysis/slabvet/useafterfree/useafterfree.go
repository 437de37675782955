// Package useafterfree defines an analyzer that reports uses of pool objects
// after Free, second frees, and uses of scoped objects after their scope's
// Release.
package useafterfree

import (
	"fmt"
	"go/token"
	"reflect"
	"slices"

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
comment), or, for an object from AllocIn, its scope's Release, its
ScopePool's Put, or a function that releases the scope. It reports a
second Free of the same value, an explicit Free of a value that a deferred
Free also frees, and a Free run in every iteration of a loop on a value
made before the loop. For a slab.Ref, Deref, RefOf and FreeRef after FreeRef
are reported: they panic with ErrStaleRef.

It also reports a read of a slice's elements after a loop over its indexes
that freed every element on every pass; and a function literal that uses
the object on every path through it when it is called after a Free, or
deferred and run at a return that every path from the defer statement
reaches through a Free (or after a deferred Free registered later, which
runs first).`

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
		checkFreedElements(env, rep, fn)
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
	checkClosures(env, rep, fn, t, name, ref, frees, deferred)
}

// checkClosures reports function literals that use the object after it was
// freed: called after a Free, or deferred and run at a return that every
// path from the defer statement reaches through a Free (or through a
// deferred Free registered after it, which runs first).
func checkClosures(env *lifetime.Env, rep *lifetime.Reporter, fn *ssa.Function, t *lifetime.Trace, name string, ref bool, frees, deferred []lifetime.Event) {
	for _, b := range fn.Blocks {
		for _, in := range b.Instrs {
			mc, ok := in.(*ssa.MakeClosure)
			if !ok || !t.Must(mc) {
				continue
			}
			fn2, _ := mc.Fn.(*ssa.Function)
			for k, bnd := range mc.Bindings {
				if _, ok := t.Values[bnd]; !ok || !t.Must(bnd) {
					continue
				}
				use, kind := closureUse(env, fn2, k, ref)
				if use == nil {
					continue
				}
				for _, u := range *mc.Referrers() {
					call, ok := u.(ssa.CallInstruction)
					if !ok || call.Common().Value != mc {
						continue
					}
					freed, how := freedBefore(fn, call, frees, deferred)
					if freed == nil {
						continue
					}
					line, at := lifetime.Line(env, freed.Pos()), lifetime.Line(env, call.Pos())
					_, deferred := call.(*ssa.Defer)
					var msg string
					switch {
					case kind == lifetime.FreeUse && deferred:
						msg = fmt.Sprintf("%s is freed twice: by the function literal deferred on line %d, after it was freed on line %d%s", name, at, line, how)
					case kind == lifetime.FreeUse:
						msg = fmt.Sprintf("%s is freed twice: by the function literal called on line %d, after it was freed on line %d", name, at, line)
					case deferred:
						msg = fmt.Sprintf("%s is used by the function literal deferred on line %d, which runs after %s was freed on line %d%s", name, at, name, line, how)
					default:
						msg = fmt.Sprintf("%s is used by the function literal called on line %d, after it was freed on line %d", name, at, line)
					}
					rep.Report(analysis.Diagnostic{Pos: pos(use, call), Message: msg})
				}
			}
		}
	}
}

// recovers reports whether fn defers a function that calls recover: a
// function literal that recovers its own panic is a test of that panic
// (func() { defer func() { err = recover() }(); p.Deref(stale) }()), which
// commits the bug on purpose.
func recovers(fn *ssa.Function) bool {
	for _, b := range fn.Blocks {
		for _, in := range b.Instrs {
			d, ok := in.(*ssa.Defer)
			if !ok {
				continue
			}
			var callee *ssa.Function
			switch v := d.Call.Value.(type) {
			case *ssa.MakeClosure:
				callee, _ = v.Fn.(*ssa.Function)
			case *ssa.Function:
				callee = v
			}
			if callee == nil {
				continue
			}
			for _, b2 := range callee.Blocks {
				for _, in2 := range b2.Instrs {
					if c, ok := in2.(*ssa.Call); ok {
						if bi, ok := c.Call.Value.(*ssa.Builtin); ok && bi.Name() == "recover" {
							return true
						}
					}
				}
			}
		}
	}
	return false
}

// freedBefore returns the Free that runs before the call of a function
// literal on every path: for a call, a Free that dominates it; for a
// deferred call, one that dominates the defer statement, or one that every
// path from the defer statement to some return passes, or a deferred Free
// registered after it. how says which, for the message.
func freedBefore(fn *ssa.Function, call ssa.CallInstruction, frees, deferred []lifetime.Event) (ssa.Instruction, string) {
	switch call.(type) {
	case *ssa.Call:
		for _, f := range frees {
			if lifetime.Dominates(f.Instr, call) {
				return f.Instr, ""
			}
		}
	case *ssa.Defer:
		never := func(ssa.Instruction) bool { return false }
		all := lifetime.Reach(fn, call, never, nil)
		for _, f := range frees {
			if lifetime.Dominates(f.Instr, call) {
				return f.Instr, ""
			}
			without := lifetime.Reach(fn, call, func(in ssa.Instruction) bool { return in == f.Instr }, nil)
			for _, r := range all {
				if !slices.Contains(without, r) {
					if !r.Pos().IsValid() {
						return f.Instr, " (on every path to the end of the function)"
					}
					return f.Instr, fmt.Sprintf(" (on every path to the return on line %d)", fn.Prog.Fset.Position(r.Pos()).Line)
				}
			}
		}
		for _, d := range deferred {
			if d.Instr != call && lifetime.Dominates(call, d.Instr) {
				return d.Instr, " by a deferred call that runs first"
			}
		}
	}
	return nil, ""
}

// closureUse returns a use of captured variable k of fn2 that every path
// through fn2 makes, and whether it is a use or a free; nil if there is none
// or fn2 assigns the variable.
func closureUse(env *lifetime.Env, fn2 *ssa.Function, k int, ref bool) (ssa.Instruction, lifetime.UseKind) {
	if fn2 == nil || k >= len(fn2.FreeVars) {
		return nil, lifetime.NoUse
	}
	if recovers(fn2) {
		return nil, lifetime.NoUse
	}
	fv := fn2.FreeVars[k]
	for _, r := range *fv.Referrers() {
		if st, ok := r.(*ssa.Store); ok && st.Addr == fv {
			return nil, lifetime.NoUse
		}
	}
	t := env.Trace(fn2, false, lifetime.Root{V: fv, Class: lifetime.Container, Must: true})
	for _, b := range fn2.Blocks {
		for _, in := range b.Instrs {
			for _, op := range in.Operands(nil) {
				v := *op
				if v == nil || t.Values[v]&lifetime.Direct == 0 || !t.Must(v) {
					continue
				}
				kind := env.UseOf(in, v, ref)
				if kind == lifetime.NoUse {
					continue
				}
				if len(lifetime.Reach(fn2, nil, func(x ssa.Instruction) bool { return x == in }, nil)) == 0 {
					return in, kind
				}
			}
		}
	}
	return nil, lifetime.NoUse
}

// checkReleases reports uses of scoped objects after their scope's Release
// (or its ScopePool's Put, or a function that releases it).
func checkReleases(env *lifetime.Env, rep *lifetime.Reporter, fn *ssa.Function) {
	type alloc struct {
		call *ssa.Call
		obj  ssa.Value
	}
	allocs := map[ssa.Value][]alloc{} // by the scope's root
	for _, sc := range env.ScopedCalls(fn) {
		if sc.API.Role != slabapi.AllocIn {
			continue
		}
		if obj := lifetime.FirstResult(sc.Call); obj != nil {
			s := lifetime.MustRoot(sc.Scope)
			allocs[s] = append(allocs[s], alloc{sc.Call, obj})
		}
	}
	for _, rel := range env.ScopeReleases(fn) {
		if _, ok := rel.Instr.(*ssa.Call); !ok {
			continue // a deferred release runs after every use
		}
		line := lifetime.Line(env, rel.Instr.Pos())
		for _, a := range allocs[rel.Scope] {
			if !lifetime.Dominates(a.call, rel.Instr) {
				continue
			}
			t := env.Trace(fn, false, lifetime.Root{V: a.obj, Class: lifetime.Direct, Must: true})
			name := lifetime.Name(a.obj)
			for v, c := range t.Values {
				if c&lifetime.Direct == 0 || !t.Must(v) {
					continue
				}
				for _, u := range *v.Referrers() {
					if !lifetime.Dominates(rel.Instr, u) {
						continue
					}
					if env.UseOf(u, v, false) != lifetime.NoUse {
						rep.Report(analysis.Diagnostic{Pos: pos(u, rel.Instr), Message: fmt.Sprintf("%s is used after its scope was %s on line %d", name, rel.Verb, line)})
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

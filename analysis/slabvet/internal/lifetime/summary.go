// Package lifetime follows slab objects through SSA functions and summarises
// what each function does with its arguments, as facts that reach the
// packages that call it. The slabvet analyzers are built on it.
package lifetime

import (
	"fmt"
	"go/token"
	"go/types"
	"reflect"
	"slices"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/ctrlflow"
	"golang.org/x/tools/go/ssa"

	"github.com/slabtrack/slabtrack/analysis/slabvet/internal/slabapi"
)

// A Summary says what a function does with each parameter (a method's
// receiver is parameter 0) and, for a function literal, with each captured
// variable, numbered after the parameters. Bit i of each mask is parameter
// i; parameters past the 64th are unknown.
type Summary struct {
	// Frees: freed on every path that returns.
	Frees uint64
	// MayFree: freed on some path.
	MayFree uint64
	// Borrows: only used during the call, never kept, freed or returned.
	Borrows uint64
	// Escapes: stored in a package-level variable, sent on a channel, or
	// handed to a goroutine that the function does not wait for.
	Escapes uint64
	// GoEscapes: the escape is to a goroutine.
	GoEscapes uint64
	// Why says, for each escaping parameter, where it goes (a slice, not a
	// map, so that the fact's encoding is deterministic).
	Why []string
	// Into says, for each parameter, in the memory of which other
	// parameters the function keeps it (bit j: reachable from parameter j
	// after the call, as a method keeps a value in its receiver's map), so
	// that a caller whose argument j is a package-level variable knows
	// that the value now lives as long as the program.
	Into []uint64
	// Releases: *slab.Scope parameters released (or put back in their
	// ScopePool) on every path that returns.
	Releases uint64
	// Names are the parameters' names, for messages.
	Names []string
	// ScopedFrom is 1 + the index of the *slab.Scope parameter whose
	// memory the function returns (it allocates in that scope and returns
	// the object, as a constructor does), or 0.
	ScopedFrom int
	// ScopedCtx is 1 + the index of the parameter (a context.Context or an
	// *http.Request) whose context's scope (slab.ScopeFrom) holds what the
	// function returns, or 0: a handler's helper that decodes the request.
	ScopedCtx int
	// ScopedDecoded: what the function returns in a scope was decoded
	// there, so what it points to, strings included, is in the scope too.
	ScopedDecoded bool
	// Owns: the function's first result is an object it allocated from a
	// pool and handed over whole (kept nowhere else, freed nowhere), or
	// nil: the caller owns it and must free it, as after Alloc.
	Owns bool
}

func (s *Summary) into(i int) uint64 {
	if i < len(s.Into) {
		return s.Into[i]
	}
	return 0
}

func (s *Summary) why(i int) string {
	if i < len(s.Why) && s.Why[i] != "" {
		return s.Why[i]
	}
	return "kept beyond the call"
}

// Name returns the name of parameter i.
func (s *Summary) Name(i int) string {
	if i < len(s.Names) && s.Names[i] != "" {
		return s.Names[i]
	}
	return fmt.Sprintf("argument %d", i)
}

func (s *Summary) equal(o *Summary) bool {
	return s.Frees == o.Frees && s.MayFree == o.MayFree && s.Borrows == o.Borrows &&
		s.Escapes == o.Escapes && s.GoEscapes == o.GoEscapes && slices.Equal(s.Why, o.Why) &&
		slices.Equal(s.Into, o.Into) && s.Releases == o.Releases &&
		s.ScopedFrom == o.ScopedFrom && s.ScopedCtx == o.ScopedCtx && s.ScopedDecoded == o.ScopedDecoded && s.Owns == o.Owns
}

// A Fact carries a function's Summary to the packages that call it.
type Fact struct{ Summary }

// AFact marks Fact as an analysis fact.
func (*Fact) AFact() {}

// String lists the parameters by what the function does with them, as
// "frees(x) borrows(y) escapes(z) stores(v into c) releases(s)".
func (f *Fact) String() string {
	var parts []string
	for _, k := range []struct {
		name string
		mask uint64
	}{{"frees", f.Frees}, {"mayfree", f.MayFree &^ f.Frees}, {"borrows", f.Borrows}, {"escapes", f.Escapes}} {
		var names []string
		for i := 0; i < 64; i++ {
			if k.mask&(1<<i) != 0 {
				names = append(names, f.Name(i))
			}
		}
		if len(names) > 0 {
			parts = append(parts, k.name+"("+strings.Join(names, ",")+")")
		}
	}
	for j := 0; j < 64; j++ {
		var names []string
		for i, m := range f.Into {
			if m&(1<<j) != 0 {
				names = append(names, f.Name(i))
			}
		}
		if len(names) > 0 {
			parts = append(parts, "stores("+strings.Join(names, ",")+" into "+f.Name(j)+")")
		}
	}
	if f.Releases != 0 {
		var names []string
		for i := 0; i < 64; i++ {
			if f.Releases&(1<<i) != 0 {
				names = append(names, f.Name(i))
			}
		}
		parts = append(parts, "releases("+strings.Join(names, ",")+")")
	}
	if f.Owns {
		parts = append(parts, "returns-owned")
	}
	decoded := ""
	if f.ScopedDecoded {
		decoded = " decoded"
	}
	if f.ScopedFrom > 0 {
		parts = append(parts, "returns-scoped("+f.Name(f.ScopedFrom-1)+decoded+")")
	}
	if f.ScopedCtx > 0 {
		parts = append(parts, "returns-scoped(context of "+f.Name(f.ScopedCtx-1)+decoded+")")
	}
	return strings.Join(parts, " ")
}

// Analyzer summarises the functions of a package for the slabvet checks. It
// reports nothing itself.
var Analyzer = &analysis.Analyzer{
	Name:       "slabsummary",
	Doc:        "summarise which arguments each function frees, keeps or only uses, for the slabvet checks",
	Requires:   []*analysis.Analyzer{ctrlflow.Analyzer},
	FactTypes:  []analysis.Fact{new(Fact)},
	ResultType: reflect.TypeFor[*Env](),
	Run:        run,
}

// Env gives the checks the package's SSA, the summaries of the functions it
// calls, and its annotations.
type Env struct {
	Pass *analysis.Pass
	// Funcs are the package's functions in SSA form, function literals
	// included; none for a package of the standard library.
	Funcs    []*ssa.Function
	local    map[*ssa.Function]*Summary
	imported map[*types.Func]*Summary
	handlers map[*ssa.Function]bool
	Notes    *Notes
}

// API returns the slabtrack API function that fn is, if it is one.
func (env *Env) API(fn *ssa.Function) (slabapi.Func, bool) {
	obj, _ := fn.Object().(*types.Func)
	return slabapi.Lookup(obj)
}

// Summary returns the summary of fn, if it is known.
func (env *Env) Summary(fn *ssa.Function) (*Summary, bool) {
	if o := fn.Origin(); o != nil {
		fn = o
	}
	if s, ok := env.local[fn]; ok {
		return s, s != nil
	}
	obj, _ := fn.Object().(*types.Func)
	if obj == nil {
		return nil, false
	}
	if s := env.imported[obj.Origin()]; s != nil {
		return s, true
	}
	s, ok := stdlib[obj.Origin().FullName()]
	return s, ok
}

func (env *Env) closure(fn *ssa.Function) (*Summary, bool) {
	if fn == nil {
		return nil, false
	}
	return env.Summary(fn)
}

// handler reports whether fn is an HTTP handler: its parameters are an
// http.ResponseWriter and an *http.Request. Its receiver and what it
// captured serve many requests, so outlive each one.
func (env *Env) handler(fn *ssa.Function) bool {
	if h, ok := env.handlers[fn]; ok {
		return h
	}
	p := fn.Signature.Params()
	h := p.Len() == 2 && types.TypeString(p.At(0).Type(), nil) == "net/http.ResponseWriter" &&
		types.TypeString(p.At(1).Type(), nil) == "*net/http.Request"
	env.handlers[fn] = h
	return h
}

func run(pass *analysis.Pass) (any, error) {
	env := &Env{
		Pass:     pass,
		local:    map[*ssa.Function]*Summary{},
		imported: map[*types.Func]*Summary{},
		handlers: map[*ssa.Function]bool{},
		Notes:    ParseNotes(pass),
	}
	if standard(pass) {
		return env, nil
	}
	env.Funcs = buildSSA(pass)
	// Import the facts of every function called from another package now:
	// the checks look them up after this pass has ended.
	for _, fn := range env.Funcs {
		for _, b := range fn.Blocks {
			for _, in := range b.Instrs {
				call, ok := in.(ssa.CallInstruction)
				if !ok {
					continue
				}
				callee := call.Common().StaticCallee()
				if callee == nil {
					continue
				}
				obj, _ := callee.Object().(*types.Func)
				if obj == nil || obj.Pkg() == pass.Pkg {
					continue
				}
				obj = obj.Origin()
				if _, done := env.imported[obj]; done {
					continue
				}
				var f Fact
				if pass.ImportObjectFact(obj, &f) {
					env.imported[obj] = &f.Summary
				} else {
					env.imported[obj] = nil
				}
			}
		}
	}

	// Callees first: a function literal comes after its parent in
	// SrcFuncs. Rounds until nothing changes settle calls between the
	// package's functions, recursion included.
	funcs := slices.Clone(env.Funcs)
	slices.Reverse(funcs)
	for range 6 {
		changed := false
		for _, fn := range funcs {
			s := env.summarize(fn)
			if old, ok := env.local[fn]; !ok || (old == nil) != (s == nil) || (s != nil && !s.equal(old)) {
				env.local[fn] = s
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	for _, fn := range env.Funcs {
		obj, _ := fn.Object().(*types.Func)
		s := env.local[fn]
		if obj == nil || s == nil || fn.Parent() != nil {
			continue
		}
		if s.Frees|s.MayFree|s.Borrows|s.Escapes|s.Releases == 0 && len(s.Into) == 0 && s.ScopedFrom == 0 && s.ScopedCtx == 0 && !s.Owns {
			continue
		}
		pass.ExportObjectFact(obj, &Fact{*s})
	}
	return env, nil
}

// summarize computes fn's summary, or nil if fn has no body.
func (env *Env) summarize(fn *ssa.Function) *Summary {
	if len(fn.Blocks) == 0 {
		return nil
	}
	if _, ok := env.API(fn); ok {
		return nil // the table says what the API does
	}
	s := &Summary{}
	var roots []Root
	for _, p := range fn.Params {
		roots = append(roots, Root{V: p, Class: Direct | Container, Must: true})
		s.Names = append(s.Names, p.Name())
	}
	for _, fv := range fn.FreeVars {
		roots = append(roots, Root{V: fv, Class: Container, Must: true})
		s.Names = append(s.Names, fv.Name())
	}
	index := func(v ssa.Value) int {
		return slices.IndexFunc(roots, func(r Root) bool { return r.V == v })
	}
	for i, r := range roots {
		if i >= 64 {
			break
		}
		bit := uint64(1) << i
		t := env.Trace(fn, true, r)
		borrows := true
		for _, e := range t.Events {
			switch e.Kind {
			case Borrow, Contained:
				continue
			case Freed:
				s.MayFree |= bit
			case Retained:
				if j := index(e.Holder); j >= 0 && j < 64 && j != i {
					for len(s.Into) <= i {
						s.Into = append(s.Into, 0)
					}
					s.Into[i] |= 1 << j
				}
			case Escaped:
				if e.Go && Waits(e.Instr) {
					continue
				}
				s.Escapes |= bit
				if e.Go {
					s.GoEscapes |= bit
				}
				s.setWhy(i, e.Why)
			}
			borrows = false
		}
		if borrows && !returnsCopy(fn, r.V.Type()) {
			s.Borrows |= bit
		}
		if s.MayFree&bit != 0 && freesOnEveryPath(fn, t) {
			s.Frees |= bit
		}
	}
	s.Releases = env.releases(fn, roots)
	s.ScopedFrom, s.ScopedCtx, s.ScopedDecoded = env.scopedFrom(fn)
	s.Owns = env.owns(fn)
	env.Notes.apply(fn, s)
	return s
}

// releases returns the mask of the roots (fn's parameters and captured
// variables) that are scopes fn releases on every path that returns.
func (env *Env) releases(fn *ssa.Function, roots []Root) uint64 {
	rels := env.ScopeReleases(fn)
	var mask uint64
	for i, r := range roots {
		if i >= 64 {
			break
		}
		at := map[ssa.Instruction]bool{}
		for _, rel := range rels {
			sc := rel.Scope
			if u, ok := sc.(*ssa.UnOp); ok && u.Op == token.MUL {
				if _, fv := u.X.(*ssa.FreeVar); fv {
					sc = u.X // a captured scope, loaded from its cell
				}
			}
			if sc == r.V {
				at[rel.Instr] = true
			}
		}
		if len(at) > 0 && len(Reach(fn, nil, func(in ssa.Instruction) bool { return at[in] }, nil)) == 0 {
			mask |= 1 << i
		}
	}
	return mask
}

// A ScopeRelease is a call that releases a scope, or puts it back in its
// ScopePool, which releases it too: the API's, a function whose summary
// says it releases its argument, a function literal that releases a scope
// it captured.
type ScopeRelease struct {
	Instr ssa.CallInstruction // a Call or a Defer
	Scope ssa.Value           // the scope, as MustRoot gives it
	// Verb says what happens to the scope, for messages: "released", "put
	// back" (in its ScopePool), "released by finish".
	Verb string
}

// ScopeReleases returns the calls and deferred calls in fn that release a
// scope.
func (env *Env) ScopeReleases(fn *ssa.Function) []ScopeRelease {
	var out []ScopeRelease
	for _, b := range fn.Blocks {
		for _, in := range b.Instrs {
			call, ok := in.(ssa.CallInstruction)
			if !ok {
				continue
			}
			switch call.(type) {
			case *ssa.Call, *ssa.Defer:
			default:
				continue
			}
			common := call.Common()
			if mc, ok := common.Value.(*ssa.MakeClosure); ok {
				fn2, _ := mc.Fn.(*ssa.Function)
				s, ok := env.closure(fn2)
				if !ok {
					continue
				}
				for k, b := range mc.Bindings {
					idx := len(fn2.Params) + k
					if idx < 64 && s.Releases&(1<<idx) != 0 && singleStoreCell(b) {
						out = append(out, ScopeRelease{Instr: call, Scope: MustRoot(storedIn(b)), Verb: "released"})
					}
				}
				continue
			}
			callee := common.StaticCallee()
			if callee == nil {
				continue
			}
			if api, ok := env.API(callee); ok {
				if api.Role == slabapi.Release && api.Scope >= 0 && api.Scope < len(common.Args) {
					verb := "released"
					if api.Recv == "ScopePool" {
						verb = "put back"
					}
					out = append(out, ScopeRelease{Instr: call, Scope: MustRoot(common.Args[api.Scope]), Verb: verb})
				}
				continue
			}
			if s, ok := env.Summary(callee); ok && s.Releases != 0 {
				for i, a := range common.Args {
					if i < 64 && s.Releases&(1<<i) != 0 {
						out = append(out, ScopeRelease{Instr: call, Scope: MustRoot(a), Verb: "released by " + callee.Name()})
					}
				}
			}
		}
	}
	return out
}

// freesOnEveryPath reports whether every path from fn's entry to a return,
// other than those on which the object is nil, frees the traced object
// itself.
func freesOnEveryPath(fn *ssa.Function, t *Trace) bool {
	frees := map[ssa.Instruction]bool{}
	for _, e := range t.Events {
		if e.Kind == Freed && e.Must {
			frees[e.Instr] = true
		}
	}
	if len(frees) == 0 {
		return false
	}
	return len(Reach(fn, nil, func(in ssa.Instruction) bool { return frees[in] }, t.NilPrune(nil))) == 0
}

// returnsCopy reports whether fn may return a copy of a parameter of type t
// that the trace cannot see: a Ref is a value, and a function can return a
// Ref it rebuilt from another's fields.
func returnsCopy(fn *ssa.Function, t types.Type) bool {
	if _, ok := t.Underlying().(*types.Struct); !ok {
		return false
	}
	res := fn.Signature.Results()
	for i := 0; i < res.Len(); i++ {
		if mayHold(res.At(i).Type(), t, map[types.Type]bool{}) {
			return true
		}
	}
	return false
}

// setWhy records why parameter i escapes, unless a reason is known.
func (s *Summary) setWhy(i int, why string) {
	for len(s.Why) <= i {
		s.Why = append(s.Why, "")
	}
	if s.Why[i] == "" {
		s.Why[i] = why
	}
}

// A ScopedCall is a call that returns memory owned by a scope: an
// allocating function of the API, or a function whose summary says it
// returns what it allocated in a scope it was given.
type ScopedCall struct {
	Call  *ssa.Call
	API   slabapi.Func // Role AllocIn or DecodeIn; for a summarised function, AllocIn
	Scope ssa.Value    // the scope argument
	// Via is the summarised function, nil for the API itself.
	Via *ssa.Function
	// Decoded: for a summarised function, what it returns was decoded in
	// the scope, and what it points to is there too.
	Decoded bool
}

// ScopedCalls returns the calls in fn that return scoped memory.
func (env *Env) ScopedCalls(fn *ssa.Function) []ScopedCall {
	var out []ScopedCall
	for _, b := range fn.Blocks {
		for _, in := range b.Instrs {
			call, ok := in.(*ssa.Call)
			if !ok {
				continue
			}
			callee := call.Call.StaticCallee()
			if callee == nil {
				continue
			}
			args := call.Call.Args
			if api, ok := env.API(callee); ok {
				if (api.Role == slabapi.AllocIn || api.Role == slabapi.DecodeIn) && api.Scope >= 0 && api.Scope < len(args) {
					out = append(out, ScopedCall{Call: call, API: api, Scope: args[api.Scope]})
				}
				continue
			}
			s, ok := env.Summary(callee)
			if !ok {
				continue
			}
			// The scope, or for a helper that takes it from a context the
			// request or context it is given, which stands for it.
			from := s.ScopedFrom
			if from == 0 {
				from = s.ScopedCtx
			}
			if from > 0 && from <= len(args) {
				api := slabapi.Func{Entry: slabapi.Entry{Name: callee.Name(), Role: slabapi.AllocIn}, Arg: -1, Scope: from - 1}
				out = append(out, ScopedCall{Call: call, API: api, Scope: args[from-1], Via: callee, Decoded: s.ScopedDecoded})
			}
		}
	}
	return out
}

// scopedFrom says where the scoped memory that fn returns comes from: 1 +
// the index of the *slab.Scope parameter in which fn allocates or decodes
// what it returns, or 1 + the index of the parameter from whose context
// (slab.ScopeFrom(r.Context()), slab.ScopeFrom(ctx)) it takes that scope;
// and whether what it returns was decoded there.
func (env *Env) scopedFrom(fn *ssa.Function) (scope, ctx int, decoded bool) {
	for _, sc := range env.ScopedCalls(fn) {
		var t *Trace
		switch {
		case sc.API.Role == slabapi.DecodeIn:
			args := sc.Call.Call.Args
			if sc.API.Arg < 0 || sc.API.Arg >= len(args) {
				continue
			}
			t = env.TraceDecoded(fn, MustRoot(args[sc.API.Arg]))
		default:
			obj := FirstResult(sc.Call)
			if obj == nil {
				continue
			}
			t = env.TraceScoped(fn, sc, obj)
		}
		if !slices.ContainsFunc(t.Events, func(e Event) bool { return e.Kind == Returned }) {
			continue
		}
		s, c := 0, 0
		if p, ok := MustRoot(sc.Scope).(*ssa.Parameter); ok && isScope(p.Type()) {
			s = slices.Index(fn.Params, p) + 1
		} else if p := contextParam(env, sc.Scope); p != nil {
			c = slices.Index(fn.Params, p) + 1
		} else {
			continue
		}
		if scope == 0 && ctx == 0 {
			scope, ctx = s, c
		}
		if s == scope && c == ctx {
			// An object made by NewIn and then decoded into is returned
			// by both calls.
			decoded = decoded || sc.API.Role == slabapi.DecodeIn || sc.Decoded
		}
	}
	return scope, ctx, decoded
}

func isScope(t types.Type) bool { return slabapi.IsNamed(t, slabapi.SlabPath, "Scope", true) }

// contextParam returns the parameter of the function that scope is taken
// from: scope is slab.ScopeFrom(ctx) for a context parameter ctx, or
// slab.ScopeFrom(r.Context()) for an *http.Request parameter r, or stands for
// such a parameter (a call of a helper that takes its scope from it).
func contextParam(env *Env, scope ssa.Value) *ssa.Parameter {
	v := MustRoot(scope)
	if call, ok := v.(*ssa.Call); ok {
		f := call.Call.StaticCallee()
		if f == nil || len(call.Call.Args) != 1 {
			return nil
		}
		if api, ok := env.API(f); !ok || api.Role != slabapi.ScopeFrom {
			return nil
		}
		v = MustRoot(call.Call.Args[0])
	}
	if call, ok := v.(*ssa.Call); ok {
		// r.Context() of an *http.Request
		f := call.Call.StaticCallee()
		if f == nil || f.Name() != "Context" || len(call.Call.Args) != 1 || f.Signature.Recv() == nil ||
			types.TypeString(f.Signature.Recv().Type(), nil) != "*net/http.Request" {
			return nil
		}
		v = MustRoot(call.Call.Args[0])
	}
	p, _ := v.(*ssa.Parameter)
	if p == nil {
		return nil
	}
	switch types.TypeString(p.Type(), nil) {
	case "context.Context", "*net/http.Request":
		return p
	}
	return nil
}

// An OwnedCall is a call that returns an object the caller must free: Alloc,
// TryAlloc, AllocRef, or a function whose summary says it hands over an
// object it allocated.
type OwnedCall struct {
	Call *ssa.Call
	API  slabapi.Func // Role Alloc or AllocRef
	// Via is the summarised function, nil for the API itself.
	Via *ssa.Function
}

// OwnedCalls returns the calls in fn that return an object to free.
func (env *Env) OwnedCalls(fn *ssa.Function) []OwnedCall {
	var out []OwnedCall
	for _, b := range fn.Blocks {
		for _, in := range b.Instrs {
			call, ok := in.(*ssa.Call)
			if !ok {
				continue
			}
			callee := call.Call.StaticCallee()
			if callee == nil {
				continue
			}
			if api, ok := env.API(callee); ok {
				if api.Role == slabapi.Alloc || api.Role == slabapi.AllocRef {
					out = append(out, OwnedCall{Call: call, API: api})
				}
				continue
			}
			if s, ok := env.Summary(callee); ok && s.Owns {
				role := slabapi.Alloc
				if slabapi.IsRef(resultType(callee, 0)) {
					role = slabapi.AllocRef
				}
				api := slabapi.Func{Entry: slabapi.Entry{Name: callee.Name(), Role: role}, Arg: -1, Scope: -1}
				out = append(out, OwnedCall{Call: call, API: api, Via: callee})
			}
		}
	}
	return out
}

func resultType(fn *ssa.Function, i int) types.Type {
	res := fn.Signature.Results()
	if i >= res.Len() {
		return nil
	}
	return res.At(i).Type()
}

// owns reports whether fn hands its caller an object it allocated: one
// allocation whose object the function only uses, frees (on an error path)
// or returns as its first result, and every return gives that object or
// nil.
func (env *Env) owns(fn *ssa.Function) bool {
	calls := env.OwnedCalls(fn)
	if len(calls) != 1 || fn.Signature.Results().Len() == 0 {
		return false
	}
	obj := FirstResult(calls[0].Call)
	if obj == nil {
		return false
	}
	t := env.Trace(fn, false, Root{V: obj, Class: Direct, Must: true})
	returned := false
	for _, e := range t.Events {
		switch e.Kind {
		case Borrow, Freed:
			// Freed: on an error path, say; every return gives the object
			// or nil, as checked below.
		case Returned:
			ret := e.Instr.(*ssa.Return)
			if len(ret.Results) == 0 || ret.Results[0] != e.Value || t.Values[e.Value]&Direct == 0 {
				return false // returned as another result, or inside something
			}
			returned = true
		default:
			return false
		}
	}
	if !returned {
		return false
	}
	for _, b := range fn.Blocks {
		if len(b.Instrs) == 0 {
			continue
		}
		if ret, ok := b.Instrs[len(b.Instrs)-1].(*ssa.Return); ok && len(ret.Results) > 0 {
			if r := ret.Results[0]; !IsNil(r) && !onlyObject(t, r, map[ssa.Value]bool{}) {
				return false // some path returns something else
			}
		}
	}
	return true
}

// onlyObject reports whether v is the traced object or nil on every path:
// the object itself, or a merge of such values.
func onlyObject(t *Trace, v ssa.Value, seen map[ssa.Value]bool) bool {
	if IsNil(v) || t.Must(v) && t.Values[v]&Direct != 0 {
		return true
	}
	phi, ok := v.(*ssa.Phi)
	if !ok || seen[phi] {
		return ok
	}
	seen[phi] = true
	for _, e := range phi.Edges {
		if !onlyObject(t, e, seen) {
			return false
		}
	}
	return true
}

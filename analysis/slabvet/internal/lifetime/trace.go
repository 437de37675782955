package lifetime

import (
	"go/token"
	"go/types"
	"slices"

	"golang.org/x/tools/go/ssa"

	"github.com/slabtrack/slabtrack/analysis/slabvet/internal/slabapi"
)

// A Class says how a traced value relates to the traced object. A value may
// be of several classes at once.
type Class uint8

const (
	// Direct: the value is the object (a pointer, slice, string or Ref
	// naming it), on some path at least.
	Direct Class = 1 << iota
	// Interior: the value points into the object (&x.f, x.items[i:]).
	Interior
	// Container: loads from the value, or calls of it for a closure, yield
	// the object: a variable's cell, a local struct, slice or map, a closure
	// that captured it.
	Container
)

// An EventKind says what an instruction does with a traced value.
type EventKind uint8

const (
	// Borrow uses the object for the duration of the instruction only.
	Borrow EventKind = iota
	// Freed passes the object to Free, FreeRef, or a function that frees it.
	Freed
	// Returned returns the object, or a container of it, to the caller.
	Returned
	// Escaped stores it in a package-level variable or in a handler's
	// state, sends it on a channel, or hands it to a goroutine.
	Escaped
	// Retained keeps it somewhere of unknown lifetime: a parameter's field,
	// an unknown function, an interface method.
	Retained
	// Contained stores it into an element or field of memory the function
	// made (a local array, struct, slice or map), which is traced further.
	Contained
)

// An Event is one instruction's effect on a traced value.
type Event struct {
	Instr ssa.Instruction
	Kind  EventKind
	Value ssa.Value // the traced value the instruction uses
	// Must: Value is the object on every path (for Freed: the object
	// itself is freed, not something that may be it).
	Must bool
	// Deferred: the effect happens when the function returns.
	Deferred bool
	// Go: the escape hands the object to another goroutine (a go
	// statement, a send), which a wait before returning may join.
	Go bool
	// Why says, for Escaped, where the object went.
	Why string
	// Callee is the function the object was passed to, if any.
	Callee *ssa.Function
	// Held, for Contained: the object went into a field of a local struct,
	// which the trace follows as it follows the object, so the store does
	// not end the object's path.
	Held bool
	// Holder, for Retained: the parameter or captured variable of the
	// function through whose memory the object is kept (a field of the
	// receiver, an element of a map argument).
	Holder ssa.Value
}

// A Trace is what a function does with one object.
type Trace struct {
	Values map[ssa.Value]Class
	must   map[ssa.Value]bool
	from   map[ssa.Value]ssa.Value
	Events []Event
}

// From returns the traced value that v was first reached from, or nil for a
// root.
func (t *Trace) From(v ssa.Value) ssa.Value { return t.from[v] }

// Must reports whether v is the traced object on every path.
func (t *Trace) Must(v ssa.Value) bool { return t.must[v] }

// A Root is where a trace starts.
type Root struct {
	V     ssa.Value
	Class Class
	Must  bool
}

// tracer follows one object's flow through one function.
type tracer struct {
	env  *Env
	fn   *ssa.Function
	deep bool // loads from any traced value yield traced values
	// strings: loaded strings are traced too (memory decoded into a
	// scope holds its strings' bytes).
	strings bool
	typ     types.Type // the object's type, for non-deep traces
	t       *Trace
	work    []ssa.Value
	cur     ssa.Value // the value being visited, which values added now come from
	// cellStores are, for a local variable traced only because the object
	// was stored in it, those stores: a load that none of them reaches
	// reads something else (the result variable of a function with a
	// defer is loaded by every return, whatever each stored).
	cellStores map[ssa.Value][]ssa.Instruction
	cellOther  map[ssa.Value]bool
}

// Trace follows the roots through fn. With deep set (as for a function's
// parameters), whatever is loaded from a traced value is traced too, so
// that a function freeing or keeping the elements of a slice it was given
// is not taken for one that only reads it.
func (env *Env) Trace(fn *ssa.Function, deep bool, roots ...Root) *Trace {
	return env.trace(fn, deep, false, roots)
}

// TraceDecoded follows what a decoder filled in through dst: every
// pointer, slice, map and string loaded from it, however deep.
func (env *Env) TraceDecoded(fn *ssa.Function, dst ssa.Value) *Trace {
	return env.trace(fn, true, true, []Root{{V: dst, Class: Container, Must: true}})
}

// traceDecodedValue follows v, which holds memory decoded into a scope
// (what a function that decodes a request returns), as TraceDecoded
// follows what a decoder filled in.
func (env *Env) traceDecodedValue(fn *ssa.Function, v ssa.Value) *Trace {
	return env.trace(fn, true, true, []Root{{V: v, Class: Direct | Container, Must: true}})
}

// TraceScoped follows what sc returns: deep, strings included, when it was
// decoded in the scope.
func (env *Env) TraceScoped(fn *ssa.Function, sc ScopedCall, obj ssa.Value) *Trace {
	if sc.Decoded {
		return env.traceDecodedValue(fn, obj)
	}
	return env.Trace(fn, false, Root{V: obj, Class: Direct, Must: true})
}

func (env *Env) trace(fn *ssa.Function, deep, strings bool, roots []Root) *Trace {
	tr := &tracer{env: env, fn: fn, deep: deep, strings: strings,
		t:          &Trace{Values: map[ssa.Value]Class{}, must: map[ssa.Value]bool{}, from: map[ssa.Value]ssa.Value{}},
		cellStores: map[ssa.Value][]ssa.Instruction{}, cellOther: map[ssa.Value]bool{}}
	if len(roots) > 0 {
		tr.typ = roots[0].V.Type()
		if roots[0].Class == Container && !deep {
			if p, ok := tr.typ.Underlying().(*types.Pointer); ok {
				tr.typ = p.Elem()
			}
		}
	}
	for _, r := range roots {
		tr.cellOther[r.V] = true
		tr.add(r.V, r.Class, r.Must)
	}
	for len(tr.work) > 0 {
		v := tr.work[len(tr.work)-1]
		tr.work = tr.work[:len(tr.work)-1]
		tr.cur = v
		tr.visit(v)
	}
	// Events were recorded as values were visited; a value whose class grew
	// was visited again, so drop exact duplicates.
	tr.t.Events = dedupe(tr.t.Events)
	return tr.t
}

func dedupe(evs []Event) []Event {
	type k struct {
		i ssa.Instruction
		v ssa.Value
		k EventKind
		h ssa.Value
	}
	seen := map[k]int{}
	out := evs[:0]
	for _, e := range evs {
		key := k{e.Instr, e.Value, e.Kind, e.Holder}
		if j, ok := seen[key]; ok {
			out[j] = e // the later visit has the final class and must flag
			continue
		}
		seen[key] = len(out)
		out = append(out, e)
	}
	return out
}

func (tr *tracer) add(v ssa.Value, c Class, must bool) {
	if v == nil {
		return
	}
	if _, ok := v.(*ssa.Const); ok {
		return
	}
	old, ok := tr.t.Values[v]
	oldMust := tr.t.must[v]
	if !ok {
		oldMust = true
	}
	nc, nm := old|c, oldMust && must
	if ok && nc == old && nm == oldMust {
		return
	}
	tr.t.Values[v] = nc
	tr.t.must[v] = nm
	if _, ok := tr.t.from[v]; !ok && tr.cur != v {
		tr.t.from[v] = tr.cur
	}
	tr.work = append(tr.work, v)
}

func (tr *tracer) event(instr ssa.Instruction, k EventKind, v ssa.Value, why string) *Event {
	tr.t.Events = append(tr.t.Events, Event{Instr: instr, Kind: k, Value: v, Must: tr.t.must[v], Why: why})
	return &tr.t.Events[len(tr.t.Events)-1]
}

// loaded is the class of a value loaded from a container.
func (tr *tracer) loaded(t types.Type) (Class, bool) {
	if tr.deep {
		// Elements of what a function was given; strings and numbers
		// cannot hold an object. Decoded memory holds its strings' bytes,
		// so a struct value with a string field carries scoped memory.
		return Direct | Container, hasPointers(t, map[types.Type]bool{}) || (tr.strings && holdsString(t, map[types.Type]bool{}))
	}
	if types.Identical(t, tr.typ) {
		return Direct, true
	}
	if types.IsInterface(t) {
		return Direct | Container, true
	}
	if mayHold(t, tr.typ, map[types.Type]bool{}) {
		return Container, true
	}
	return 0, false
}

func (tr *tracer) visit(v ssa.Value) {
	c := tr.t.Values[v]
	m := tr.t.must[v]
	refs := v.Referrers()
	if refs == nil {
		return
	}
	for _, instr := range *refs {
		switch in := instr.(type) {
		case *ssa.DebugRef:
		case *ssa.ChangeType, *ssa.MakeInterface, *ssa.ChangeInterface, *ssa.SliceToArrayPointer, *ssa.MultiConvert:
			tr.add(in.(ssa.Value), c, m)
		case *ssa.TypeAssert:
			tr.add(in, c, m && !in.CommaOk)
		case *ssa.Extract:
			if _, ok := in.Tuple.(*ssa.TypeAssert); ok && in.Index == 0 {
				tr.add(in, c, false)
			} else if _, ok := in.Tuple.(*ssa.Next); ok && in.Index > 0 {
				if lc, ok := tr.loaded(in.Type()); ok {
					tr.add(in, lc, false)
				}
			} else if _, ok := in.Tuple.(*ssa.Lookup); ok && in.Index == 0 {
				tr.add(in, c, false)
			} else if _, ok := in.Tuple.(*ssa.UnOp); ok && in.Index == 0 {
				tr.add(in, c, false)
			}
		case *ssa.Convert:
			if isUnsafeConv(in) {
				tr.add(in, c, m)
			} else {
				tr.event(in, Borrow, v, "")
			}
		case *ssa.Phi:
			tr.add(in, c, false)
		case *ssa.FieldAddr, *ssa.IndexAddr:
			val := in.(ssa.Value)
			var nc Class
			if c&(Direct|Interior) != 0 {
				nc |= Interior
				tr.event(in, Borrow, v, "")
			}
			if c&Container != 0 {
				nc |= Container
			}
			tr.add(val, nc, false)
		case *ssa.Field, *ssa.Index:
			if c&Container != 0 {
				if lc, ok := tr.loaded(in.(ssa.Value).Type()); ok {
					tr.add(in.(ssa.Value), lc, false)
				}
			}
			if c&Direct != 0 {
				tr.event(in, Borrow, v, "")
			}
		case *ssa.Slice:
			tr.add(in, c, false)
		case *ssa.UnOp:
			tr.visitUnOp(in, v, c, m)
		case *ssa.BinOp:
			tr.event(in, Borrow, v, "")
		case *ssa.Store:
			tr.visitStore(in, v, c, m)
		case *ssa.MapUpdate:
			if in.Map == v {
				break // writing into a container of the object
			}
			tr.sink(in, v, in.Map, true)
		case *ssa.Lookup:
			if in.X == v && c&Container != 0 {
				if lc, ok := tr.loaded(in.Type()); ok && !in.CommaOk {
					tr.add(in, lc, false)
				} else if in.CommaOk {
					tr.add(in, Container, false)
				}
			}
			if in.Index == v {
				tr.event(in, Borrow, v, "")
			}
		case *ssa.Range:
			tr.add(in, Container, false)
		case *ssa.Next:
			tr.add(in, Container, false)
		case *ssa.Send:
			if in.X == v {
				tr.send(in, v, in.Chan)
			}
		case *ssa.Select:
			for _, st := range in.States {
				if st.Dir == types.SendOnly && st.Send == v {
					tr.send(in, v, st.Chan)
				}
			}
		case *ssa.Return:
			tr.event(in, Returned, v, "")
		case *ssa.Panic:
			tr.event(in, Retained, v, "")
		case *ssa.MakeClosure:
			// The closure is one value; whether what it captured is the
			// object on every path is the binding's must flag.
			tr.add(in, Container, true)
		case ssa.CallInstruction:
			tr.visitCall(in, v, c, m)
		case *ssa.If, *ssa.Jump:
		default:
			tr.event(instr, Retained, v, "")
		}
	}
}

func (tr *tracer) visitUnOp(in *ssa.UnOp, v ssa.Value, c Class, m bool) {
	switch in.Op {
	case token.MUL:
		if stores := tr.cellStores[v]; len(stores) > 0 && !tr.cellOther[v] &&
			!slices.ContainsFunc(stores, func(st ssa.Instruction) bool { return reaches(st, in) }) {
			break
		}
		if c&Container != 0 {
			if lc, ok := tr.loaded(in.Type()); ok {
				_, fv := v.(*ssa.FreeVar)
				tr.add(in, lc, m && (fv || singleStoreCell(v)))
			}
		}
		if c&(Direct|Interior) != 0 {
			tr.event(in, Borrow, v, "")
		}
	case token.ARROW:
		if c&Container != 0 {
			if lc, ok := tr.loaded(in.Type()); ok {
				tr.add(in, lc, false)
			}
		}
	default:
		tr.event(in, Borrow, v, "")
	}
}

func (tr *tracer) visitStore(in *ssa.Store, v ssa.Value, c Class, m bool) {
	if in.Val != v {
		// A write into the object, or into a container of it.
		if c&(Direct|Interior) != 0 {
			tr.event(in, Borrow, v, "")
		}
		return
	}
	tr.sink(in, v, in.Addr, false)
}

// sink records the store of v into the memory at addr (into the map addr if
// isMap).
func (tr *tracer) sink(in ssa.Instruction, v, addr ssa.Value, isMap bool) {
	r := rootOf(addr, isMap)
	switch r.kind {
	case rootLocal:
		// The array that holds a call's variadic arguments is not a
		// place the object is kept: the call decides.
		if a, ok := r.v.(*ssa.Alloc); ok && a.Comment == "varargs" {
			tr.add(r.v, Container, false)
			return
		}
		if isMap || r.v != addr {
			e := tr.event(in, Contained, v, "")
			e.Held = !isMap && localStruct(r.v)
			tr.cellOther[r.v] = true
		} else {
			tr.cellStores[r.v] = append(tr.cellStores[r.v], in)
		}
		tr.add(r.v, Container, tr.t.must[v] && !isMap && r.v == addr && singleStoreCell(addr))
	case rootGlobal:
		tr.event(in, Escaped, v, "stored in package-level variable "+r.v.Name())
	case rootParam:
		if tr.handlerState(r.v) {
			tr.event(in, Escaped, v, "stored in the handler's state, which outlives the request")
		} else {
			tr.event(in, Retained, v, "").Holder = r.v
		}
	default:
		tr.event(in, Retained, v, "")
	}
}

// handlerState reports whether memory reached from p, a parameter or a
// captured variable of the function traced, is an HTTP handler's state:
// its receiver and captured variables serve many requests, unless the
// handler itself was made for one request, inside another handler.
func (tr *tracer) handlerState(p ssa.Value) bool {
	if !tr.env.handler(tr.fn) {
		return false
	}
	switch p := p.(type) {
	case *ssa.FreeVar:
		return !(tr.fn.Parent() != nil && tr.env.handler(tr.fn.Parent()))
	case *ssa.Parameter:
		return tr.fn.Signature.Recv() != nil && p == tr.fn.Params[0]
	}
	return false
}

// localStruct reports whether v is a struct variable or composite literal
// of the function: what goes into its fields is followed through it.
// Arrays, slices and maps are not: their elements are often freed by a
// loop that the analysis cannot count.
func localStruct(v ssa.Value) bool {
	a, ok := v.(*ssa.Alloc)
	if !ok {
		return false
	}
	_, isStruct := a.Type().(*types.Pointer).Elem().Underlying().(*types.Struct)
	return isStruct
}

func (tr *tracer) send(in ssa.Instruction, v, ch ssa.Value) {
	if _, ok := ch.(*ssa.MakeChan); ok {
		// A channel made here: who receives is not known, but nothing says
		// that it outlives the function.
		tr.event(in, Retained, v, "")
		return
	}
	// A receiver is another goroutine, which a wait before returning may
	// join, as for a go statement.
	e := tr.event(in, Escaped, v, "sent on a channel")
	e.Go = true
}

func (tr *tracer) visitCall(in ssa.CallInstruction, v ssa.Value, c Class, m bool) {
	common := in.Common()
	_, isGo := in.(*ssa.Go)
	_, isDefer := in.(*ssa.Defer)
	mark := func(e *Event) *Event {
		e.Deferred = isDefer
		return e
	}
	if common.Value == v && !common.IsInvoke() {
		mc, ok := v.(*ssa.MakeClosure)
		if !ok {
			if c&Container != 0 {
				mark(tr.event(in, Retained, v, ""))
			}
			return
		}
		fn2, _ := mc.Fn.(*ssa.Function)
		for j, b := range mc.Bindings {
			if _, ok := tr.t.Values[b]; !ok {
				continue
			}
			if isGo {
				e := tr.event(in, Escaped, v, "captured by a go statement")
				e.Go = true
				continue
			}
			s, ok := tr.env.closure(fn2)
			idx := len(fn2.Params) + j
			arg := func(k int) ssa.Value {
				if k < len(common.Args) {
					return common.Args[k]
				}
				if k -= len(fn2.Params); k >= 0 && k < len(mc.Bindings) {
					return mc.Bindings[k]
				}
				return nil
			}
			tr.effect(in, v, s, ok, idx, tr.t.must[b] && m, isDefer, fn2, arg)
		}
		return
	}
	if common.IsInvoke() && common.Value == v {
		if isGo {
			e := tr.event(in, Escaped, v, "handed to a goroutine")
			e.Go = true
		} else {
			mark(tr.event(in, Retained, v, ""))
		}
	}
	for i, a := range common.Args {
		if a != v {
			continue
		}
		if isGo {
			e := tr.event(in, Escaped, v, "handed to a goroutine")
			e.Go = true
			continue
		}
		if b, ok := common.Value.(*ssa.Builtin); ok {
			switch b.Name() {
			case "append":
				if i > 0 {
					// The object goes into the slice appended to.
					tr.event(in, Contained, v, "")
				}
				if call, ok := in.(*ssa.Call); ok {
					tr.add(call, c, false)
				}
			case "ssa:wrapnilchk", "Add", "Slice", "String", "SliceData", "StringData":
				// unsafe.Add and friends keep the address.
				if call, ok := in.(*ssa.Call); ok {
					tr.add(call, c, m)
				}
			default:
				tr.event(in, Borrow, v, "")
			}
			continue
		}
		if common.IsInvoke() {
			mark(tr.event(in, Retained, v, ""))
			continue
		}
		callee := common.StaticCallee()
		if callee == nil {
			mark(tr.event(in, Retained, v, ""))
			continue
		}
		if api, ok := tr.env.API(callee); ok {
			switch {
			case (api.Role == slabapi.Free || api.Role == slabapi.FreeRef) && i == api.Arg && c&Direct != 0:
				e := mark(tr.event(in, Freed, v, ""))
				e.Callee = callee
			case (api.Role == slabapi.Deref || api.Role == slabapi.RefOf) && i == api.Arg:
				if call, ok := in.(*ssa.Call); ok {
					tr.add(call, Direct, false)
				}
				tr.event(in, Borrow, v, "")
			default:
				tr.event(in, Borrow, v, "")
			}
			continue
		}
		s, ok := tr.env.Summary(callee)
		arg := func(k int) ssa.Value {
			if k < len(common.Args) {
				return common.Args[k]
			}
			return nil
		}
		tr.effect(in, v, s, ok, i, m && c&Direct != 0, isDefer, callee, arg)
	}
}

// effect records the effect of passing v as parameter idx of a function
// whose summary is s (ok false: unknown); arg returns the value passed as
// parameter k, or nil.
func (tr *tracer) effect(in ssa.Instruction, v ssa.Value, s *Summary, ok bool, idx int, must, deferred bool, callee *ssa.Function, arg func(k int) ssa.Value) {
	var e *Event
	switch {
	case !ok || idx >= 64:
		e = tr.event(in, Retained, v, "")
	case s.Frees&(1<<idx) != 0 || s.MayFree&(1<<idx) != 0:
		e = tr.event(in, Freed, v, "")
		e.Must = must && s.Frees&(1<<idx) != 0
	case s.Escapes&(1<<idx) != 0:
		e = tr.event(in, Escaped, v, s.why(idx))
		e.Go = s.GoEscapes&(1<<idx) != 0
	case s.into(idx) != 0:
		tr.stored(in, v, s, idx, deferred, callee, arg)
		return
	case s.Borrows&(1<<idx) != 0:
		if deferred {
			return
		}
		e = tr.event(in, Borrow, v, "")
	default:
		e = tr.event(in, Retained, v, "")
	}
	e.Deferred = deferred
	e.Callee = callee
}

// stored records the effect of passing v to a function that keeps it in the
// memory of some of its other arguments (a method that puts it in its
// receiver's map): where those arguments live says where v now lives.
func (tr *tracer) stored(in ssa.Instruction, v ssa.Value, s *Summary, idx int, deferred bool, callee *ssa.Function, arg func(k int) ssa.Value) {
	mask := s.into(idx)
	for k := 0; k < 64; k++ {
		if mask&(1<<k) == 0 {
			continue
		}
		var e *Event
		holder := arg(k)
		if holder == nil {
			e = tr.event(in, Retained, v, "")
		} else {
			switch r := rootOf(holder, false); r.kind {
			case rootGlobal:
				e = tr.event(in, Escaped, v, "stored by "+callee.Name()+" in package-level variable "+r.v.Name())
			case rootParam:
				if tr.handlerState(r.v) {
					e = tr.event(in, Escaped, v, "stored by "+callee.Name()+" in the handler's state, which outlives the request")
				} else {
					e = tr.event(in, Retained, v, "")
					e.Holder = r.v
				}
			default:
				e = tr.event(in, Retained, v, "")
			}
		}
		e.Deferred = deferred
		if e.Kind == Retained {
			// An escape's reason names the callee already.
			e.Callee = callee
		}
	}
}

// reaches reports whether a path runs to after from.
func reaches(from, to ssa.Instruction) bool {
	if from.Block() == to.Block() && indexOf(from) < indexOf(to) {
		return true
	}
	seen := map[*ssa.BasicBlock]bool{}
	stack := slices.Clone(from.Block().Succs)
	for len(stack) > 0 {
		b := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if b == to.Block() {
			return true
		}
		if !seen[b] {
			seen[b] = true
			stack = append(stack, b.Succs...)
		}
	}
	return false
}

// isUnsafeConv reports whether c converts between a pointer and
// unsafe.Pointer, which keeps the address as a reference. A conversion to
// uintptr does not: the integer keeps nothing alive and reaches nothing.
func isUnsafeConv(c *ssa.Convert) bool {
	isUnsafe := func(t types.Type) bool {
		b, ok := t.Underlying().(*types.Basic)
		return ok && b.Kind() == types.UnsafePointer
	}
	if b, ok := c.Type().Underlying().(*types.Basic); ok && b.Kind() == types.Uintptr {
		return false
	}
	return isUnsafe(c.Type()) || isUnsafe(c.X.Type())
}

// singleStoreCell reports whether v is a local variable's cell that is
// written once, directly, and otherwise only read or captured: then a load
// from it yields what that one store wrote.
func singleStoreCell(v ssa.Value) bool {
	a, ok := v.(*ssa.Alloc)
	if !ok {
		return false
	}
	stores := 0
	for _, r := range *a.Referrers() {
		switch in := r.(type) {
		case *ssa.Store:
			if in.Addr != a {
				return false
			}
			stores++
		case *ssa.UnOp:
			if in.Op != token.MUL {
				return false
			}
		case *ssa.MakeClosure, *ssa.DebugRef:
		default:
			return false
		}
	}
	return stores == 1
}

type rootKind int

const (
	rootUnknown rootKind = iota
	rootLocal            // memory made by this function, not reached through a pointer
	rootGlobal           // memory reachable from a package-level variable
	rootParam            // memory reachable from a parameter or a captured variable
)

type root struct {
	kind rootKind
	v    ssa.Value
}

// rootOf finds where the memory at addr lives.
func rootOf(addr ssa.Value, isMap bool) root {
	loaded := isMap
	for {
		switch a := addr.(type) {
		case *ssa.FieldAddr:
			addr = a.X
		case *ssa.IndexAddr:
			// For a slice, the memory is its backing array: where the
			// slice came from says where that lives.
			addr = a.X
		case *ssa.Slice:
			addr = a.X
		case *ssa.ChangeType:
			addr = a.X
		case *ssa.UnOp:
			if a.Op != token.MUL {
				return root{}
			}
			loaded = true
			addr = a.X
		case *ssa.Alloc:
			if loaded {
				return root{}
			}
			return root{rootLocal, a}
		case *ssa.MakeMap:
			return root{rootLocal, a}
		case *ssa.MakeSlice:
			return root{rootLocal, a}
		case *ssa.Global:
			return root{rootGlobal, a}
		case *ssa.FreeVar, *ssa.Parameter:
			return root{rootParam, a}
		default:
			return root{}
		}
	}
}

// mayHold reports whether a value of type t may hold a value of type x.
func mayHold(t, x types.Type, seen map[types.Type]bool) bool {
	if types.Identical(t, x) {
		return true
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	switch u := t.Underlying().(type) {
	case *types.Interface, *types.Signature:
		return true
	case *types.Basic:
		return u.Kind() == types.UnsafePointer || (u.Kind() == types.String && isString(x))
	case *types.Pointer:
		return mayHold(u.Elem(), x, seen)
	case *types.Slice:
		return mayHold(u.Elem(), x, seen)
	case *types.Array:
		return mayHold(u.Elem(), x, seen)
	case *types.Map:
		return mayHold(u.Key(), x, seen) || mayHold(u.Elem(), x, seen)
	case *types.Chan:
		return mayHold(u.Elem(), x, seen)
	case *types.Struct:
		for f := range u.Fields() {
			if mayHold(f.Type(), x, seen) {
				return true
			}
		}
	case *types.Tuple:
		for f := range u.Variables() {
			if mayHold(f.Type(), x, seen) {
				return true
			}
		}
	}
	return false
}

// holdsString reports whether a value of type t holds a string by value:
// is one, or has one in a field or array element.
func holdsString(t types.Type, seen map[types.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	switch u := t.Underlying().(type) {
	case *types.Basic:
		return u.Info()&types.IsString != 0
	case *types.Array:
		return holdsString(u.Elem(), seen)
	case *types.Struct:
		for f := range u.Fields() {
			if holdsString(f.Type(), seen) {
				return true
			}
		}
	}
	return false
}

func isString(t types.Type) bool {
	b, ok := t.Underlying().(*types.Basic)
	return ok && b.Info()&types.IsString != 0
}

// hasPointers reports whether a value of type t may hold a pointer other
// than a string's.
func hasPointers(t types.Type, seen map[types.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	switch u := t.Underlying().(type) {
	case *types.Basic:
		return u.Kind() == types.UnsafePointer
	case *types.Array:
		return hasPointers(u.Elem(), seen)
	case *types.Struct:
		for f := range u.Fields() {
			if hasPointers(f.Type(), seen) {
				return true
			}
		}
		return false
	case *types.Tuple:
		for f := range u.Variables() {
			if hasPointers(f.Type(), seen) {
				return true
			}
		}
		return false
	}
	return true
}

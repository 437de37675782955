//go:build slabdebug

package slab

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/clock"
	"github.com/slabtrack/slabtrack/internal/debugmode"
	"github.com/slabtrack/slabtrack/internal/errs"
	"github.com/slabtrack/slabtrack/internal/slabmap"
	"github.com/slabtrack/slabtrack/internal/stack"
	"github.com/slabtrack/slabtrack/internal/violation"
)

// Violations (debug builds): the reports of the bugs the hooks catch, with
// the stacks and state of the slots involved.

// slotError is the error of a broken condition on one slot, as debug builds
// word it, knowing which condition it is. Its message reads
// "slab: double free of *main.Order (pool "orders", slot 17)".
func slotError(sentinel error, typeName, pool string, slot int) error {
	return fmt.Errorf("%w of %s (pool %q, slot %d)", sentinel, typeName, pool, slot)
}

// The errors of debug builds' reports (Violation.Err, which the call
// panics with) and of their broken invariants; default builds' are in
// errors.go.

// unallocatedFreeError is the error of Free of slot r, which the pool never
// allocated.
func (p *Pool[T]) unallocatedFreeError(r slotRef[T]) error {
	return &errs.Error{Sentinel: ErrDoubleFree, Msg: fmt.Sprintf("slab: Free of %s (pool %q, slot %d), a slot that was never allocated",
		p.owner.typeName, p.owner.name, p.slotNum(r))}
}

// unallocatedError is the error of the call o on slot num, which the pool
// never allocated.
func (p *Pool[T]) unallocatedError(o op, num int) error {
	return &errs.Error{Sentinel: ErrDoubleFree, Msg: fmt.Sprintf("slab: %v of %s (pool %q, slot %d), a slot that was never allocated", o, p.owner.typeName, p.owner.name, num)}
}

// freedError is the error of the call o on slot num, whose object was
// freed.
func (p *Pool[T]) freedError(o op, num int) error {
	return &errs.Error{Sentinel: ErrDoubleFree, Msg: fmt.Sprintf("slab: %v of a freed %s (pool %q, slot %d)", o, p.owner.typeName, p.owner.name, num)}
}

// shadowRefOfError is the error of RefOf of a freed drop-detection shadow
// of slot r.
func (p *Pool[T]) shadowRefOfError(r slotRef[T]) error {
	return &errs.Error{Sentinel: ErrDoubleFree, Msg: fmt.Sprintf("slab: RefOf of a freed %s (pool %q, slot %d)", p.owner.typeName, p.owner.name, p.slotNum(r))}
}

// releasedSlabError is the error of the call o of addr, in a slab of the
// pool that Trim released.
func (p *Pool[T]) releasedSlabError(addr uintptr, o op) error {
	return fmt.Errorf("%w: %s %#x passed to %v of pool %q is in a slab that Trim released", ErrForeign, p.owner.typeName, addr, o, p.owner.name)
}

// debugStateError is the panic of the pool named pool that handed out
// slot, whose debug state is not free.
func debugStateError(pool string, slot int, state uint32) error {
	return fmt.Errorf("slab: internal error: pool %q handed out slot %d, whose debug state is %d", pool, slot, state)
}

// releasedWriteError is the error of a write to the memory of values of
// type t (a slice, string or value) of a released scope.
func releasedWriteError(t reflect.Type) error {
	return fmt.Errorf("%w to %s memory of a released scope", errs.WriteAfterFree, reflect.SliceOf(t))
}

// shadowStateError is the panic of the pool named pool that found the
// slot of a live drop-detection shadow not live.
func shadowStateError(pool string) error {
	return fmt.Errorf("slab: internal error: the slot of a live shadow of pool %q is not live", pool)
}

// violation returns a report of kind k on slot r with the slot's stacks.
func (p *Pool[T]) violation(k violation.Kind, r slotRef[T], d *slotDebug) *violation.Violation {
	v := &violation.Violation{
		Kind: k,
		Pool: p.owner.name,
		Type: p.owner.typeName,
		Slot: p.slotNum(r),
		Addr: uintptr(unsafe.Pointer(r.ptr())),
	}
	fillRecord(v, d, clock.Now())
	return v
}

// fillRecord sets v's allocation and free from the record d. The ages are
// measured from one instant, now, read before the slow symbolisation, so
// that they keep the order of the events.
func fillRecord(v *violation.Violation, d *slotDebug, now int64) {
	allocAt, freeAt := d.allocAt.Load(), d.freeAt.Load()
	allocStack, freeStack := d.allocStack.Load(), d.freeStack.Load()
	v.AllocAge, v.FreeAge = clock.Since(now, allocAt), clock.Since(now, freeAt)
	v.Alloc, v.Free = frames(allocStack), frames(freeStack)
}

// settle waits, a second at most, for a Free in progress on another
// goroutine to record its stack (freeStack), so that a report can show it.
// The Free records it right after it claims the slot, and never blocks.
func settle(state, freeStack *atomic.Uint32) {
	if debugmode.Current().StackDepth == 0 {
		return
	}
	deadline := time.Now().Add(time.Second)
	for state.Load() == dFreeing && freeStack.Load() == 0 && time.Now().Before(deadline) {
		runtime.Gosched()
	}
}

// doubleFree reports a Free (or FreeRef) of slot r that found it not live.
func (p *Pool[T]) doubleFree(r slotRef[T], d *slotDebug, call stack.ID) *violation.Violation {
	seen := d.state.Load()
	settle(&d.state, &d.freeStack)
	st := d.state.Load()
	if d.serial.Load() == 0 {
		v := p.violation(violation.Unallocated, r, d)
		v.Op = "Free"
		v.Call = frames(uint32(call))
		v.Detail = "the pool has never allocated this slot: the pointer was not obtained from the pool (pointer arithmetic, or a wrong index?)"
		v.Err = p.unallocatedFreeError(r)
		return v
	}
	v := p.violation(violation.DoubleFree, r, d)
	v.Op = "Free"
	v.Call = frames(uint32(call))
	v.Detail = freedDetail(seen, false)
	if seen == dFreeing && p.reset != nil && resetRunning(p.reset) {
		// Not another goroutine: the object's own Free is running the
		// reset function, which freed the object again.
		v.Detail = "the pool's " + funcName(p.reset) + ", which runs on the object while Free (or its scope's Release) frees it, freed it again: a reset function must not free the object it readies"
		v.Err = p.resettingError(r, opFree)
		return v
	}
	if st == dLive {
		// Freed and allocated again meanwhile: the records are the new
		// object's, not the one this call meant.
		v.Free, v.FreeAge, v.Alloc, v.AllocAge = nil, 0, nil, 0
		v.Detail = "the object was freed, and its slot allocated again to a new object, while this call ran: the records now describe the new object"
	}
	v.Err = slotError(ErrDoubleFree, p.owner.typeName, p.owner.name, p.slotNum(r))
	return v
}

func freedDetail(st uint32, never bool) string {
	switch {
	case never:
		return "the pool has never allocated this slot"
	case st == dQuarantined:
		return "the object was already freed; its slot is in the quarantine"
	case st == dFree:
		return "the object was already freed; its slot is free (in a per-P cache or its slab's free set)"
	case st == dFreeing:
		return "another goroutine was freeing the object at the same time"
	case st == dRetired:
		return "the object was already freed; its slot is retired (its Ref generations ran out)"
	}
	return "the object was freed, and its slot allocated again, while this call ran"
}

// writeAfterFree reports a write, dm, found in the freed slot r by the
// call op, which did not commit it.
func (p *Pool[T]) writeAfterFree(r slotRef[T], d *slotDebug, dm damage, op, detail string) *violation.Violation {
	v := p.violation(violation.WriteAfterFree, r, d)
	describeWrite(v, dm, op, detail)
	return v
}

func describeWrite(v *violation.Violation, dm damage, op, detail string) {
	v.Field, v.Offset = dm.field, dm.from
	v.Got, v.Want = dm.got, dm.want
	v.Detail = detail
	v.Op = op
	v.Call = frames(uint32(callerStack(debugmode.Current())))
}

// foreignViolation describes a Free or RefOf (o) of addr, which lies in
// slab sp (nil if none) and is not a slot of this pool.
func (p *Pool[T]) foreignViolation(addr uintptr, sp *slabmap.Slab, o op) *violation.Violation {
	kind := violation.ForeignFree
	if o == opRefOf {
		kind = violation.ForeignPointer
	}
	v := &violation.Violation{Kind: kind, Op: o.String(), Pool: p.owner.name, Type: p.owner.typeName, Slot: -1, Addr: addr,
		Err: p.foreignError(addr, sp, o)}
	switch {
	case sp == nil:
		if p.describeTrimmed(v, addr, o) {
			return v
		}
		v.Detail = "it lies in no slab of any pool, nor in a slab that this pool released and that is still in memory: it is a new value or a variable"
	case sp.Pool != p.id:
		v.Owner = sp.Owner.Name()
		v.Detail = fmt.Sprintf("it lies in a slab of pool %q (%s), which owns it", sp.Owner.Name(), sp.Owner.TypeName())
	default:
		s := (*slab[T])(sp.Slab)
		i := uint32((addr - sp.Base) / p.size)
		off := (addr - sp.Base) % p.size
		r := slotRef[T]{s, i}
		d := &s.dbg.slots[i]
		v.Slot = p.slotNum(r)
		name, _, _ := p.dbg.layout.Field(off)
		if name != "" {
			name = " (field " + name + ")"
		}
		v.Detail = fmt.Sprintf("it points %d bytes into slot %d%s of this pool, whose slots are %d bytes apart; the slot's object was allocated here",
			off, v.Slot, name, p.size)
		now := clock.Now()
		v.AllocAge, v.Alloc = clock.Since(now, d.allocAt.Load()), frames(d.allocStack.Load())
	}
	return v
}

// debugForeign reports a foreign pointer passed to RefOf, which cannot go
// on without a slot: the handler, if any, sees it, and the caller panics
// with it.
func (p *Pool[T]) debugForeign(_ error, addr uintptr, sp *slabmap.Slab, o op) error {
	v := p.foreignViolation(addr, sp, o) // its Err is the release error, or, for a released slab, more precise
	v.Call = frames(uint32(callerStack(debugmode.Current())))
	violation.Report(v)
	return v
}

// debugBadFree reports RefOf of an object that is not live; the caller
// panics with the result. (In debug builds Free comes through
// debugFreeSlot, not here.)
func (p *Pool[T]) debugBadFree(err error, r slotRef[T], o op) error {
	d := &r.s.dbg.slots[r.i]
	never := d.serial.Load() == 0
	num := p.slotNum(r)
	var v *violation.Violation
	switch {
	case errors.Is(err, ErrScoped):
		v = p.violation(violation.ScopedRef, r, d)
		v.Detail = "the object was allocated with AllocIn: its Scope owns it, and a Ref could outlive the scope"
		v.Err = err
	case never:
		v = p.violation(violation.Unallocated, r, d)
		v.Detail = "the pool has never allocated this slot: the pointer was not obtained from the pool"
		v.Err = p.unallocatedError(o, num)
	default:
		v = p.violation(violation.RefOfFreed, r, d)
		v.Detail = freedDetail(d.state.Load(), false)
		v.Err = p.freedError(o, num)
		if d.state.Load() == dLive {
			v.Free, v.FreeAge, v.Alloc, v.AllocAge = nil, 0, nil, 0
		}
	}
	v.Op = o.String()
	v.Call = frames(uint32(callerStack(debugmode.Current())))
	violation.Report(v)
	return v
}

// debugStaleRef reports Deref of a stale Ref; the caller panics with the
// result, having no object to return.
func (p *Pool[T]) debugStaleRef(err error, ref Ref[T]) error {
	v := p.staleRef(err, ref)
	v.Op = "Deref"
	violation.Report(v)
	return v
}

// staleRef describes a Ref that names no live object. It shows the
// allocation and free of the Ref's object only when the slot's records are
// still that object's.
func (p *Pool[T]) staleRef(err error, ref Ref[T]) *violation.Violation {
	v := &violation.Violation{Kind: violation.StaleRef, Pool: p.owner.name, Type: p.owner.typeName, Slot: int(ref.slot), Err: err}
	v.Call = frames(uint32(callerStack(debugmode.Current())))
	pos, i := int(ref.slot)/p.nelems, ref.slot%uint32(p.nelems)
	table := *p.refTable.Load()
	var s *slab[T]
	if pos < len(table) {
		s = table[pos].Load()
	}
	var gens *[]atomic.Uint32
	if s != nil {
		gens = s.gens.Load()
	}
	base := uint32(p.genBase())
	switch {
	case ref.gen == 0:
		v.Detail = "it is the zero Ref, which names no object"
	case ref.gen < base:
		v.Detail = fmt.Sprintf("generation %d is below %d, where this pool's generations start: the Ref is from another pool", ref.gen, base)
	case p.describeTrimmedRef(v, ref, pos, i):
	case s == nil && pos >= p.positions():
		v.Detail = fmt.Sprintf("slot %d is beyond every slab the pool has had: the Ref is from another pool", ref.slot)
	case s == nil:
		v.Detail = fmt.Sprintf("slot %d was in a slab that Trim released; its object was freed before that (or the Ref is from another pool)", ref.slot)
	case gens == nil:
		v.Detail = fmt.Sprintf("no Ref was ever issued in the slab that holds slot %d now: the Ref is from another pool, or from a slab at its place that Trim released", ref.slot)
	default:
		d := &s.dbg.slots[i]
		v.Addr = uintptr(unsafe.Pointer(slotRef[T]{s, i}.ptr()))
		cur := (*gens)[i].Load()
		st := d.state.Load()
		switch {
		case ref.gen > cur:
			v.Detail = fmt.Sprintf("slot %d is at generation %d, below the Ref's: the Ref is from another pool", ref.slot, cur)
		case cur == ref.gen+1 && st != dLive:
			v.Detail = fmt.Sprintf("Ref %v: the object was freed; its slot is at generation %d", ref, cur)
			fillRecord(v, d, clock.Now())
		case cur == ref.gen+1:
			v.Detail = fmt.Sprintf("Ref %v: the object was freed, and its slot (now at generation %d) holds a new object", ref, cur)
		case cur == ref.gen:
			v.Detail = fmt.Sprintf("Ref %v: the object is being freed by another goroutine, or was allocated with AllocIn", ref)
		default:
			held := cur - ref.gen - 1
			if st == dLive {
				held++
			}
			v.Detail = fmt.Sprintf("Ref %v: the object was freed, and its slot (now at generation %d) has held %d object(s) since", ref, cur, held)
		}
	}
	return v
}

// positions returns how many slab positions the pool has used.
func (p *Pool[T]) positions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.genFloor)
}

// debugLiveSites describes where the pool's live objects were allocated,
// for the exhaustion error (see liveSitesText).
func (p *Pool[T]) debugLiveSites() string { return liveSitesText(p.debugLiveObjects(nil)) }

//go:build slabdebug

package slab

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/clock"
	"github.com/slabtrack/slabtrack/internal/poison"
	"github.com/slabtrack/slabtrack/internal/spanmap"
	"github.com/slabtrack/slabtrack/internal/stack"
	"github.com/slabtrack/slabtrack/tracker"
)

// Violations (debug builds): the reports of the bugs the hooks catch, with
// the stacks and state of the slots involved.

// violation returns a report of kind k on slot r with the slot's stacks.
func (p *Pool[T]) violation(k tracker.Kind, r slotRef[T], d *slotDebug) *tracker.Violation {
	return &tracker.Violation{
		Kind:     k,
		Pool:     p.owner.name,
		Type:     p.owner.typeName,
		Slot:     p.slotNum(r),
		Addr:     uintptr(unsafe.Pointer(r.ptr())),
		Alloc:    frames(d.allocStack.Load()),
		AllocAge: clock.Age(d.allocAt.Load()),
		Free:     frames(d.freeStack.Load()),
		FreeAge:  clock.Age(d.freeAt.Load()),
	}
}

// settle waits, a second at most, for a Free in progress on another
// goroutine to record its stack (freeStack), so that a report can show it.
// The Free records it right after it claims the slot, and never blocks.
func settle(state, freeStack *atomic.Uint32) {
	if tracker.CurrentSettings().StackDepth == 0 {
		return
	}
	deadline := time.Now().Add(time.Second)
	for state.Load() == dFreeing && freeStack.Load() == 0 && time.Now().Before(deadline) {
		runtime.Gosched()
	}
}

func (p *Pool[T]) doubleFree(r slotRef[T], d *slotDebug, call stack.ID) *tracker.Violation {
	seen := d.state.Load()
	settle(&d.state, &d.freeStack)
	st := d.state.Load()
	v := p.violation(tracker.DoubleFree, r, d)
	v.Call = frames(uint32(call))
	v.Detail = freedDetail(seen, d.serial.Load() == 0)
	if st == dLive {
		// Freed and allocated again meanwhile: the stacks are the new
		// object's.
		v.Free, v.FreeAge = nil, 0
	}
	v.Err = slotError(ErrDoubleFree, p.owner.typeName, p.owner.name, p.slotNum(r))
	return v
}

func freedDetail(st uint32, never bool) string {
	switch {
	case never:
		return "the slot was never allocated"
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

func (p *Pool[T]) writeAfterFree(r slotRef[T], d *slotDebug, off uintptr, poisoned bool, detail string) *tracker.Violation {
	v := p.violation(tracker.WriteAfterFree, r, d)
	p.describeWrite(v, unsafe.Pointer(r.ptr()), off, poisoned, detail)
	return v
}

func (p *Pool[T]) describeWrite(v *tracker.Violation, x unsafe.Pointer, off uintptr, poisoned bool, detail string) {
	name, from, to := p.dbg.layout.Field(off)
	v.Field, v.Offset = name, from
	v.Got = poison.Bytes(x, from, to)
	v.Want = p.dbg.layout.Expected(from, to, poisoned)
	v.Detail = detail
	v.Call = frames(uint32(callerStack(tracker.CurrentSettings())))
}

// foreignViolation describes a Free of addr, which lies in span sp (nil if
// none) and is not a slot of this pool.
func (p *Pool[T]) foreignViolation(addr uintptr, sp *spanmap.Span) *tracker.Violation {
	v := &tracker.Violation{Kind: tracker.ForeignFree, Pool: p.owner.name, Type: p.owner.typeName, Slot: -1, Addr: addr}
	switch {
	case sp == nil:
		v.Detail = "it lies in no slab of any pool: it is a new value, a variable, or an object of a slab that Trim released"
	case sp.Pool != p.id:
		v.Owner = sp.Owner.Name()
		v.Detail = fmt.Sprintf("it lies in a slab of pool %q (%s), which owns it", sp.Owner.Name(), sp.Owner.TypeName())
	default:
		s := (*span[T])(sp.Slab)
		i := uint32((addr - sp.Base) / p.size)
		off := (addr - sp.Base) % p.size
		r := slotRef[T]{s, i}
		d := &s.dbg.slots[i]
		v.Slot = p.slotNum(r)
		name, _, _ := p.dbg.layout.Field(off)
		if name != "" {
			name = " (field " + name + ")"
		}
		v.Detail = fmt.Sprintf("it points %d bytes into slot %d%s of this pool, whose objects are %d bytes; the slot's object was allocated here",
			off, v.Slot, name, p.size)
		v.Alloc, v.AllocAge = frames(d.allocStack.Load()), clock.Age(d.allocAt.Load())
	}
	return v
}

// debugViolation reports a foreign pointer passed to a call that cannot
// continue without a slot (RefOf, AllocIn's internal lookups): the handler,
// if any, sees it, and the caller panics with it.
func (p *Pool[T]) debugViolation(err error, addr uintptr, sp *spanmap.Span) error {
	v := p.foreignViolation(addr, sp)
	v.Call = frames(uint32(callerStack(tracker.CurrentSettings())))
	v.Err = err
	if !tracker.Panics() {
		tracker.Report(v)
	}
	return v
}

// debugBadFree reports RefOf of an object that is not live; the caller
// panics with the result.
func (p *Pool[T]) debugBadFree(err error, r slotRef[T]) error {
	d := &r.s.dbg.slots[r.i]
	kind := tracker.DoubleFree
	if errors.Is(err, ErrScoped) {
		kind = tracker.ScopedFree
	}
	v := p.violation(kind, r, d)
	v.Call = frames(uint32(callerStack(tracker.CurrentSettings())))
	v.Detail = freedDetail(d.state.Load(), d.serial.Load() == 0)
	v.Err = err
	if !tracker.Panics() {
		tracker.Report(v)
	}
	return v
}

// debugStaleRef reports Get of a stale Ref; the caller panics with the
// result, having no object to return.
func (p *Pool[T]) debugStaleRef(err error, ref Ref[T]) error {
	v := p.staleRef(err, ref)
	if !tracker.Panics() {
		tracker.Report(v)
	}
	return v
}

func (p *Pool[T]) staleRef(err error, ref Ref[T]) *tracker.Violation {
	v := &tracker.Violation{Kind: tracker.StaleRef, Pool: p.owner.name, Type: p.owner.typeName, Slot: int(ref.slot), Err: err}
	v.Call = frames(uint32(callerStack(tracker.CurrentSettings())))
	pos, i := int(ref.slot)/p.nelems, ref.slot%uint32(p.nelems)
	table := *p.refTable.Load()
	var s *span[T]
	if pos < len(table) {
		s = table[pos].Load()
	}
	var gens *[]atomic.Uint32
	if s != nil {
		gens = s.gens.Load()
	}
	switch {
	case ref.gen == 0:
		v.Detail = "it is the zero Ref, which names no object"
	case s == nil:
		v.Detail = fmt.Sprintf("slot %d is in no slab of the pool: the Ref is from another pool, or its slab was released by Trim", ref.slot)
	case gens == nil:
		v.Detail = fmt.Sprintf("no Ref was ever issued for slot %d: the Ref is from another pool", ref.slot)
	default:
		d := &s.dbg.slots[i]
		v.Addr = uintptr(unsafe.Pointer(&s.mem[i]))
		cur := (*gens)[i].Load()
		st := d.state.Load()
		switch {
		case cur == ref.gen+1 && st != dLive:
			v.Detail = fmt.Sprintf("Ref %v: the object was freed; its slot is at generation %d", ref, cur)
			v.Alloc, v.AllocAge = frames(d.allocStack.Load()), clock.Age(d.allocAt.Load())
			v.Free, v.FreeAge = frames(d.freeStack.Load()), clock.Age(d.freeAt.Load())
		case cur == ref.gen+1:
			v.Detail = fmt.Sprintf("Ref %v: the object was freed, here, and its slot (now at generation %d) allocated again", ref, cur)
			v.Free, v.FreeAge = frames(d.freeStack.Load()), clock.Age(d.freeAt.Load())
		case cur == ref.gen:
			v.Detail = fmt.Sprintf("Ref %v: the object is being freed or is scoped", ref)
		default:
			v.Detail = fmt.Sprintf("Ref %v: the slot is at generation %d: the object was freed %d allocations ago", ref, cur, cur-ref.gen)
		}
	}
	return v
}

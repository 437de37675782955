//go:build slabdebug

package slab

import (
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/clock"
	"github.com/slabtrack/slabtrack/internal/debugmode"
	"github.com/slabtrack/slabtrack/internal/fault"
	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/internal/registry"
	"github.com/slabtrack/slabtrack/internal/stack"
	"github.com/slabtrack/slabtrack/internal/violation"
)

// Drop detection (debug builds, WithDropCheck): objects that become
// unreachable without Free.

// maxDropped bounds the dropped objects a pool remembers for reports.
const maxDropped = 4096

// A shadow is the debug record of a heap object handed out in place of a
// slot under drop detection.
type shadow[T any] struct {
	serial     uint64
	r          slotRef[T] // the slot that accounts for the object
	slotSerial uint32     // the slot's allocation count when the object was allocated: its fault records carry it
	state      atomic.Uint32
	allocStack atomic.Uint32
	freeStack  atomic.Uint32
	allocAt    atomic.Int64
	freeAt     atomic.Int64
}

// shadowKey is a shadow's cleanup argument: it must not point to the shadow
// object, or the object would never be collected.
type shadowKey struct {
	addr   uintptr
	serial uint64
}

// Drop detection. The GC sees a slab as one object: it cannot tell that one
// slot became unreachable. So under drop detection Alloc returns a separate
// heap object (a shadow) while the slot it stands for stays assigned, and a
// cleanup on the shadow reports it if it is collected before Free.

// debugShadow returns the object Alloc and TryAlloc hand out for x: x
// itself, or a shadow under drop detection.
func (p *Pool[T]) debugShadow(x *T) *T {
	if !p.dbg.dropCheck {
		return x
	}
	r := p.lookup(x)
	d := &r.s.dbg.slots[r.i]
	h := new(T)
	addr := uintptr(unsafe.Pointer(h))
	sh := &shadow[T]{r: r, slotSerial: d.serial.Load()}
	sh.state.Store(dLive)
	sh.allocStack.Store(d.allocStack.Load())
	sh.allocAt.Store(d.allocAt.Load())
	d.shadow.Store(addr)

	p.dbg.smu.Lock()
	p.dbg.serial++
	sh.serial = p.dbg.serial
	old := p.dbg.shadows[addr]
	p.dbg.shadows[addr] = sh
	p.dbg.smu.Unlock()
	if old != nil {
		// The address was reused, so the old object was collected; its
		// cleanup has not run yet, and will find its entry replaced.
		p.collected(old, addr)
	}
	runtime.AddCleanup(h, p.shadowCollected, shadowKey{addr, sh.serial})
	return h
}

func (p *Pool[T]) shadowAt(addr uintptr) *shadow[T] {
	p.dbg.smu.Lock()
	defer p.dbg.smu.Unlock()
	return p.dbg.shadows[addr]
}

// shadowCollected runs on the runtime's cleanup goroutine once the shadow at
// k.addr is unreachable.
func (p *Pool[T]) shadowCollected(k shadowKey) {
	p.dbg.smu.Lock()
	sh := p.dbg.shadows[k.addr]
	if sh == nil || sh.serial != k.serial {
		p.dbg.smu.Unlock()
		return
	}
	delete(p.dbg.shadows, k.addr)
	p.dbg.smu.Unlock()
	p.collected(sh, k.addr)
}

// collected handles a shadow whose object the GC collected: if it was never
// freed, it is recorded as dropped and its slot reclaimed.
func (p *Pool[T]) collected(sh *shadow[T], addr uintptr) {
	if !sh.state.CompareAndSwap(dLive, dRetired) {
		return // freed before it was dropped
	}
	r := sh.r
	d := &r.s.dbg.slots[r.i]
	now := clock.Now()
	obj := registry.Object{
		Slot:    p.slotNum(r),
		Addr:    addr,
		Serial:  d.serial.Load(),
		Stack:   stack.ID(sh.allocStack.Load()),
		AllocAt: sh.allocAt.Load(),
		Mark:    d.mark.Load(),
	}
	p.dbg.smu.Lock()
	if len(p.dbg.dropped) < maxDropped {
		p.dbg.dropped = append(p.dbg.dropped, obj)
	}
	p.dbg.smu.Unlock()

	detail := "the GC found the object unreachable, and it was never freed; its slot was reclaimed"
	if d.state.CompareAndSwap(dLive, dFreeing) {
		d.shadow.Store(0)
		d.freeStack.Store(0)
		d.freeAt.Store(now)
		if err := p.finishFree(r, d, false); err != nil {
			// Not raised: this runs on the runtime's cleanup goroutine.
			detail += "; the pool's reset function panicked on the slot, which was zeroed instead: " + err.Error()
		}
	}
	// The default handling leaves dropped objects to Find, which reports
	// them either way: a panic here would end the process from the
	// cleanup goroutine.
	violation.Report(&violation.Violation{
		Kind: violation.Dropped, Pool: p.owner.name, Type: p.owner.typeName, Slot: obj.Slot, Addr: addr,
		Detail:   detail,
		Alloc:    frames(uint32(obj.Stack)),
		AllocAge: clock.Since(now, obj.AllocAt),
	})
}

// freeShadow is Free of the shadow x.
func (p *Pool[T]) freeShadow(sh *shadow[T], x *T) {
	call := callerStack(debugmode.Current())
	if !sh.state.CompareAndSwap(dLive, dFreeing) {
		seen := sh.state.Load()
		settle(&sh.state, &sh.freeStack)
		v := p.shadowViolation(violation.DoubleFree, sh, x)
		v.Op = "Free"
		v.Call = frames(uint32(call))
		v.Detail = freedDetail(seen, false) + " (drop detection: the object is a heap copy standing for its slot)"
		v.Err = slotError(ErrDoubleFree, p.owner.typeName, p.owner.name, p.slotNum(sh.r))
		violation.Report(v)
		return
	}
	p.unpin(uintptr(unsafe.Pointer(x)))
	now := clock.Now()
	sh.freeStack.Store(uint32(call))
	sh.freeAt.Store(now)

	// The slot only stood for the object, and the user never held it:
	// release it now. The object itself goes to the quarantine.
	r := sh.r
	d := &r.s.dbg.slots[r.i]
	if !d.state.CompareAndSwap(dLive, dFreeing) {
		panic(shadowStateError(p.owner.name))
	}
	d.shadow.Store(0)
	d.freeStack.Store(uint32(call))
	d.freeAt.Store(now)
	if err := p.finishFree(r, d, false); err != nil {
		// The slot only stood for the object, but the reset ran on it:
		// raise its panic once the object is freed too.
		defer panic(err)
	}

	race.WriteRange(unsafe.Pointer(x), int(unsafe.Sizeof(*x)))
	if p.dbg.qcap == 0 {
		var zero T
		*x = zero
		if asan.Enabled {
			asan.Freed(unsafe.Pointer(x), unsafe.Sizeof(*x), uint32(call), now)
		}
		sh.state.Store(dFree)
		return
	}
	// The object is poisoned whole, reset or not: the next Alloc hands
	// out a new heap object anyway.
	e := qent[T]{h: x, sh: sh}
	e.cell = p.dbg.layout.Poison(unsafe.Pointer(x), fault.Record{Pool: p.regID, Slot: p.slotNum(r), Serial: sh.slotSerial})
	if asan.Enabled {
		asan.Freed(unsafe.Pointer(x), unsafe.Sizeof(*x), uint32(call), now)
	}
	sh.state.Store(dQuarantined)
	p.enqueue(e)
}

func (p *Pool[T]) shadowViolation(k violation.Kind, sh *shadow[T], x *T) *violation.Violation {
	// All ages from one instant, read before the slow symbolisation.
	now := clock.Now()
	allocAge, freeAge := clock.Since(now, sh.allocAt.Load()), clock.Since(now, sh.freeAt.Load())
	allocStack, freeStack := sh.allocStack.Load(), sh.freeStack.Load()
	return &violation.Violation{
		Kind:     k,
		Pool:     p.owner.name,
		Type:     p.owner.typeName,
		Slot:     p.slotNum(sh.r),
		Addr:     uintptr(unsafe.Pointer(x)),
		Alloc:    frames(allocStack),
		AllocAge: allocAge,
		Free:     frames(freeStack),
		FreeAge:  freeAge,
	}
}

func (p *Pool[T]) shadowWriteAfterFree(sh *shadow[T], x *T, dm damage, op, detail string) *violation.Violation {
	v := p.shadowViolation(violation.WriteAfterFree, sh, x)
	describeWrite(v, dm, op, detail)
	return v
}

// debugRefOf is RefOf of x under drop detection, where x may be a shadow
// rather than a slot: its Ref names the shadow's slot, and the pool keeps
// the shadow alive until it is freed (a Ref holds no pointer), so that Deref
// returns x itself. It reports false if x is not a shadow of the pool.
func (p *Pool[T]) debugRefOf(x *T) (Ref[T], bool) {
	if !p.dbg.dropCheck {
		return Ref[T]{}, false
	}
	addr := uintptr(unsafe.Pointer(x))
	sh := p.shadowAt(addr)
	if sh == nil {
		return Ref[T]{}, false
	}
	if sh.state.Load() != dLive {
		v := p.shadowViolation(violation.RefOfFreed, sh, x)
		v.Op = "RefOf"
		v.Call = frames(uint32(callerStack(debugmode.Current())))
		v.Detail = freedDetail(sh.state.Load(), false) + " (drop detection: the object is a heap copy standing for its slot)"
		v.Err = p.shadowRefOfError(sh.r)
		violation.Report(v)
		panic(v)
	}
	p.dbg.smu.Lock()
	p.dbg.pinned[addr] = x
	p.dbg.smu.Unlock()
	return p.refOf(sh.r), true
}

// pinnedShadow returns the shadow that RefOf pinned for the live slot r, or
// nil.
func (p *Pool[T]) pinnedShadow(r slotRef[T]) *T {
	addr := r.s.dbg.slots[r.i].shadow.Load()
	if addr == 0 {
		return nil
	}
	p.dbg.smu.Lock()
	defer p.dbg.smu.Unlock()
	return p.dbg.pinned[addr]
}

// unpin forgets the shadow at addr, which is being freed.
func (p *Pool[T]) unpin(addr uintptr) {
	p.dbg.smu.Lock()
	delete(p.dbg.pinned, addr)
	p.dbg.smu.Unlock()
}

func (p *Pool[T]) debugDropped(dst []registry.Object) []registry.Object {
	p.dbg.smu.Lock()
	defer p.dbg.smu.Unlock()
	return append(dst, p.dbg.dropped...)
}

//go:build slabdebug

package slab

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/clock"
	"github.com/slabtrack/slabtrack/internal/liveprof"
	"github.com/slabtrack/slabtrack/internal/poison"
	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/internal/registry"
	"github.com/slabtrack/slabtrack/internal/spanmap"
	"github.com/slabtrack/slabtrack/internal/stack"
	"github.com/slabtrack/slabtrack/internal/testlabel"
	"github.com/slabtrack/slabtrack/tracker"
)

// Debug mode (-tags slabdebug). The slabs keep their release layout; what
// debug builds add lives in side tables: a slotDebug record per slot
// (spanDebug, made with the span), and per pool a quarantine of freed slots,
// the drop-detection shadows and the records of released slabs (poolDebug).
// This file holds the records and the Alloc and Free hooks;
// debug_quarantine.go, debug_dropped.go, debug_released.go and
// debug_report.go the rest. Package tracker formats the reports and holds
// the settings.
const debugMode = true

// Debug slot states, in slotDebug.state. They are changed with atomic
// compare-and-swap, so that of two goroutines freeing one object at once,
// exactly one wins and the other is reported.
const (
	dFree        uint32 = iota // in its span's free set or a per-P cache; zeroed
	dLive                      // allocated to a user (or a scope)
	dFreeing                   // a Free is in progress
	dQuarantined               // freed, poisoned, waiting in the quarantine
	dRetired                   // its Ref generations ran out; never reused
)

// slotDebug is the debug record of one slot: 48 bytes. It holds no
// pointer, so that the records of a slab cost the garbage collector
// nothing to scan and can outlive the slab (see debug_released.go).
type slotDebug struct {
	state  atomic.Uint32
	serial atomic.Uint32 // allocations of this slot so far
	// allocStack and freeStack are stack.IDs: where the slot was last
	// allocated and last freed.
	allocStack atomic.Uint32
	freeStack  atomic.Uint32
	allocAt    atomic.Int64 // clock.Now() at the last allocation
	freeAt     atomic.Int64 // clock.Now() at the last free
	// shadow is the address of the heap object that stands for the slot
	// under drop detection, 0 if none. An address, not a pointer: the
	// record must not keep the object alive.
	shadow atomic.Uintptr
	// mark is the test mark (internal/testlabel) of the goroutine that
	// made the last allocation, 0 if none: tracker.ThisTest reads it.
	mark atomic.Uint32
}

type spanDebug struct {
	slots []slotDebug // by slot index; made before the span is published
}

type poolDebug[T any] struct {
	layout    *poison.Layout
	qcap      int  // quarantine capacity, in objects
	dropCheck bool // Alloc and TryAlloc return shadows

	qmu  sync.Mutex
	ring []qent[T] // the quarantine, a FIFO of qcap entries from head
	head int
	n    int
	// held counts the slots freed but not yet back in a cache or span: in
	// the quarantine, or on their way out of it.
	held atomic.Int64

	smu     sync.Mutex
	shadows map[uintptr]*shadow[T] // live and freed shadows, by address, until collected
	// pinned holds the shadows that RefOf gave a Ref: a Ref holds no
	// pointer, so the pool keeps the object alive until it is freed.
	pinned  map[uintptr]*T
	serial  uint64            // last shadow serial
	dropped []registry.Object // the first maxDropped objects dropped without Free

	// released keeps the records of slabs that Trim released, while
	// pointers into them may remain (debug_released.go). Guarded by
	// Pool.mu.
	released []releasedSpan[T]
}

// profKey names a live slot in the pprof profile; it holds no pointer, so the
// profile keeps no object alive.
type profKey struct {
	pool uint64
	slot int
}

// testHookFreeing, if set, runs in debugFreeSlot while the slot is
// dFreeing, so that a test can hold one Free there and run another.
var testHookFreeing func()

// internalFrames is how many frames inside slab, at most, lie between a hook
// and the user's call (allocSlow, alloc, TryAlloc, Alloc). Captures take
// that many more frames than the settings ask for; reports cut them off.
const internalFrames = 4

func (p *Pool[T]) debugInit() {
	s := tracker.CurrentSettings()
	d := &p.dbg
	d.layout = poison.New(reflect.TypeFor[T]())
	d.qcap = s.Quarantine
	if p.cfg.debug.hasQuarantine {
		d.qcap = p.cfg.debug.quarantine
	}
	d.dropCheck = s.DropCheck
	if p.cfg.debug.hasDropCheck {
		d.dropCheck = p.cfg.debug.dropCheck
	}
	d.shadows = map[uintptr]*shadow[T]{}
	d.pinned = map[uintptr]*T{}
}

func (p *Pool[T]) debugNewSpan(s *span[T]) {
	s.dbg.slots = make([]slotDebug, len(s.mem))
}

func (p *Pool[T]) debugHeldLocked() int { return int(p.dbg.held.Load()) }

// callerStack records the stack from the caller of the function that calls
// it (a hook's caller), or returns 0 if stacks are off.
func callerStack(s tracker.Settings) stack.ID {
	if s.StackDepth == 0 {
		return 0
	}
	return stack.Capture(2, s.StackDepth+internalFrames)
}

func frames(id uint32) tracker.Stack { return tracker.Stack(stack.ID(id).Frames()) }

// debugAlloc records the allocation of r, which the caller has marked
// stateLive: it checks that the slot is still zeroed (a write after the slot
// left quarantine shows here), and records the stack, the time and the
// test mark of the calling goroutine.
func (p *Pool[T]) debugAlloc(r slotRef[T]) {
	d := &r.s.dbg.slots[r.i]
	if !d.state.CompareAndSwap(dFree, dLive) {
		panic(fmt.Errorf("slab: internal error: pool %q handed out slot %d, whose debug state is %d", p.owner.name, p.slotNum(r), d.state.Load()))
	}
	x := r.ptr()
	if off, bad := p.dbg.layout.Find(unsafe.Pointer(x), false); bad && p.reset == nil {
		v := p.writeAfterFree(r, d, off, false, "Alloc",
			"the object was written after it was freed, at some time after its slot left the quarantine; found when the slot was reused")
		var zero T
		*x = zero
		p.reportAtReuse(r, d, v)
	}
	d.serial.Add(1)
	s := tracker.CurrentSettings()
	var id stack.ID
	if s.SampleRate <= 1 || rand.IntN(s.SampleRate) == 0 {
		id = callerStack(s)
	}
	d.allocStack.Store(uint32(id))
	d.freeStack.Store(0)
	d.allocAt.Store(clock.Now())
	d.freeAt.Store(0)
	d.mark.Store(testlabel.Current())
	if s.Profile {
		liveprof.Add(profKey{p.id, p.slotNum(r)}, 1)
	}
}

// reportAtReuse reports v, a write after free that an Alloc found in the
// slot r it is handing out, repaired already. The default handling does
// not panic in this innocent Alloc (see tracker.SetHandler); a Handler
// may, and then the slot goes back to the pool, so that its counts stay
// right after the panic is recovered.
func (p *Pool[T]) reportAtReuse(r slotRef[T], d *slotDebug, v *tracker.Violation) {
	done := false
	defer func() {
		if !done {
			d.state.Store(dFree)
			*r.st() = stateFree
			if p.bound != 0 {
				p.live.Add(-1)
			}
			p.release(r)
		}
	}()
	tracker.Report(v)
	done = true
}

// debugFree is Free in debug builds.
func (p *Pool[T]) debugFree(x *T) {
	addr := uintptr(unsafe.Pointer(x))
	sp := spanmap.Lookup(addr)
	if sp != nil && sp.Pool == p.id && (addr-sp.Base)%p.size == 0 {
		p.debugFreeSlot(slotRef[T]{(*span[T])(sp.Slab), uint32((addr - sp.Base) / p.size)})
		return
	}
	if p.dbg.dropCheck {
		if sh := p.shadowAt(addr); sh != nil {
			p.freeShadow(sh, x)
			return
		}
	}
	v := p.foreignViolation(addr, sp, opFree)
	v.Call = frames(uint32(callerStack(tracker.CurrentSettings())))
	tracker.Report(v)
}

// debugFreeSlot frees slot r: Free, FreeRef and Scope.Release come here.
func (p *Pool[T]) debugFreeSlot(r slotRef[T]) {
	d := &r.s.dbg.slots[r.i]
	call := callerStack(tracker.CurrentSettings())
	if !d.state.CompareAndSwap(dLive, dFreeing) {
		tracker.Report(p.doubleFree(r, d, call))
		return
	}
	d.freeStack.Store(uint32(call))
	d.freeAt.Store(clock.Now())
	if testHookFreeing != nil {
		testHookFreeing()
	}
	if st := *r.st(); st != stateLive {
		d.freeStack.Store(0)
		d.freeAt.Store(0)
		d.state.Store(dLive)
		v := p.violation(tracker.ScopedFree, r, d)
		v.Op = "Free"
		v.Call = frames(uint32(call))
		v.Detail = "the object was allocated with AllocIn: its Scope's Release frees it"
		v.Err = p.badFreeError(r, st, opFree)
		tracker.Report(v)
		return
	}
	p.releaseFreed(r, d, p.dbg.qcap > 0)
}

// releaseFreed finishes the free of slot r, whose debug state the caller
// moved to dFreeing: the slot is zeroed and goes to the quarantine, or back
// to this P's cache.
//
// A bounded pool counts the object out last, once the slot can be found
// again (in the quarantine, a cache, or retired), as release builds do: a
// TryAlloc that the count admits must find a slot.
func (p *Pool[T]) releaseFreed(r slotRef[T], d *slotDebug, quarantine bool) {
	if p.bound != 0 {
		defer p.live.Add(-1)
	}
	liveprof.Remove(profKey{p.id, p.slotNum(r)})
	x := r.ptr()
	if g := r.s.gens.Load(); g != nil && !p.nextGen(r, *g) {
		race.WriteRange(unsafe.Pointer(x), int(p.size))
		d.state.Store(dRetired)
		return
	}
	*r.st() = stateFree
	race.WriteRange(unsafe.Pointer(x), int(p.size)) // a later use is a race with this Free
	p.clearObject(x)
	if quarantine {
		if p.reset == nil {
			p.dbg.layout.Fill(unsafe.Pointer(x))
		}
		d.state.Store(dQuarantined)
		p.dbg.held.Add(1)
		p.enqueue(qent[T]{r: r})
		return
	}
	d.state.Store(dFree)
	p.release(r)
}

// release gives the free, zeroed slot r back, as Free does: the debug
// state machine has made the Free exclusive, so no racing Free can find it
// in an inbox.
func (p *Pool[T]) release(r slotRef[T]) {
	p.putFree(r)
}

// debugFreeRef is FreeRef in debug builds.
func (p *Pool[T]) debugFreeRef(ref Ref[T]) {
	r, ok := p.refLookup(ref)
	if !ok {
		v := p.staleRef(p.staleRefError(ref), ref)
		v.Op = "FreeRef"
		tracker.Report(v)
		return
	}
	if x := p.pinnedShadow(r); x != nil {
		if sh := p.shadowAt(uintptr(unsafe.Pointer(x))); sh != nil {
			p.freeShadow(sh, x)
			return
		}
	}
	p.debugFreeSlot(r)
}

// debugObject returns the object that the live slot r holds for Get: the
// slot itself, or the shadow that RefOf pinned for it.
func (p *Pool[T]) debugObject(r slotRef[T]) *T {
	if x := p.pinnedShadow(r); x != nil {
		return x
	}
	return r.ptr()
}

// debugLiveObjects appends a record of each live object of the pool.
func (p *Pool[T]) debugLiveObjects(dst []registry.Object) []registry.Object {
	table := *p.refTable.Load()
	for k := range table {
		s := table[k].Load()
		if s == nil {
			continue
		}
		for i := range s.dbg.slots {
			d := &s.dbg.slots[i]
			if d.state.Load() != dLive {
				continue
			}
			addr := d.shadow.Load()
			if addr == 0 {
				addr = s.base() + uintptr(i)*p.size
			}
			dst = append(dst, registry.Object{
				Slot:    s.pos*p.nelems + i,
				Addr:    addr,
				Serial:  d.serial.Load(),
				Stack:   stack.ID(d.allocStack.Load()),
				AllocAt: d.allocAt.Load(),
				Mark:    d.mark.Load(),
			})
		}
	}
	return dst
}

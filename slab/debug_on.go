//go:build slabdebug

package slab

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/clock"
	"github.com/slabtrack/slabtrack/internal/debugmode"
	"github.com/slabtrack/slabtrack/internal/fault"
	"github.com/slabtrack/slabtrack/internal/guard"
	"github.com/slabtrack/slabtrack/internal/poison"
	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/internal/registry"
	"github.com/slabtrack/slabtrack/internal/slabmap"
	"github.com/slabtrack/slabtrack/internal/stack"
	"github.com/slabtrack/slabtrack/internal/testlabel"
	"github.com/slabtrack/slabtrack/internal/violation"
)

// Debug mode (-tags slabdebug). The slabs keep their release layout; what
// debug builds add lives in side tables: a slotDebug record per slot
// (slabDebug, made with the slab), and per pool a quarantine of freed slots,
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
	dFree        uint32 = iota // in its slab's free set or a per-P cache; zeroed
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

type slabDebug struct {
	slots []slotDebug // by slot index; made before the slab is published
	// step is the distance between slots of a slab of a pool on guard
	// pages (the pool's size, whole pages), 0 in other pools; guard is the
	// slab's guard slab, nil in other pools and where the pool could not
	// map one (the slab is then heap memory laid out with the same step,
	// and its freed slots are poisoned instead of protected).
	step  uintptr
	guard *guard.Slab
}

// stride is the distance between slots for slotRef.ptr, 0 where it is the
// size of T.
func (d *slabDebug) stride() uintptr { return d.step }

// mapped reports whether the slab's memory is a guard slab, which the
// package maps itself, rather than Go memory.
//
//lint:ignore U1000 called under -asan only (asan_on.go)
func (d *slabDebug) mapped() bool { return d.guard != nil }

type poolDebug[T any] struct {
	layout    *poison.Layout
	qcap      int  // quarantine capacity, in objects
	dropCheck bool // Alloc and TryAlloc return shadows
	// guarded is set for a pool on guard pages (WithGuardPages);
	// guardFallbacks counts the frees whose slot could not be protected
	// (no guard slab, or the map-count budget spent) and was poisoned
	// instead.
	guarded        bool
	guardFallbacks atomic.Uint64
	// spare recycles the copies of freed objects that reset pools keep in
	// the quarantine (qent.image); guarded by imu.
	imu   sync.Mutex
	spare [][]byte

	// qmu guards ring, head and n; taken after Pool.mu (see Pool.mu),
	// and held by callers of the xQLocked functions.
	qmu  sync.Mutex
	ring []qent[T] // the quarantine, a FIFO of qcap entries from head
	head int
	n    int
	// held counts the slots freed but not yet back in a cache or slab: in
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
	released []trimmedSlab[T]
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

// debugSlotSize returns the distance between slots of a pool of typ built
// with cfg, and the slots per slab it should ask for: the size of typ and
// the configured count, or, for a pool on guard pages, whole pages and at
// least a word's worth.
func debugSlotSize(typ reflect.Type, cfg *config) (size uintptr, want int) {
	size, want = typ.Size(), cfg.slabSlots
	on := guardedPool(typ, cfg)
	cfg.debug.guard, cfg.debug.hasGuard = on, true // decided once, for debugInit
	if !on {
		return size, want
	}
	size = (size + guard.PageSize - 1) / guard.PageSize * guard.PageSize
	if want == 0 {
		want = 64
	}
	return size, want
}

// guardedPool reports whether a pool of typ built with cfg puts its
// objects on guard pages: WithGuardPages, or the tracker's setting for
// pointer-free types, where the platform has guard pages.
func guardedPool(typ reflect.Type, cfg *config) bool {
	on := debugmode.Current().GuardPages && !hasPointers(typ)
	if cfg.debug.hasGuard {
		on = cfg.debug.guard
	}
	return on && guard.Supported()
}

func (p *Pool[T]) debugInit() {
	s := debugmode.Current()
	d := &p.dbg
	d.layout = poison.For(reflect.TypeFor[T]())
	d.guarded = p.cfg.debug.guard // as debugSlotSize decided
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

func (p *Pool[T]) debugNewSlab(s *slab[T]) {
	s.dbg.slots = make([]slotDebug, len(s.mem))
	if p.dbg.guarded {
		s.dbg.step = p.size
		if g, _, _, ok := guard.Lookup(s.base()); ok && g.Base() == s.base() {
			s.dbg.guard = g
		}
	}
}

// debugSlabMem returns the memory of a new slab of n slots for a pool on
// guard pages: a guard slab, or, if none can be mapped, heap memory with
// the same layout, whose freed slots are poisoned rather than protected.
// It returns nil for other pools. p.mu is held.
func (p *Pool[T]) debugSlabMem(n int) []T {
	if !p.dbg.guarded {
		return nil
	}
	// The position newSlabLocked will give the slab, for the slab's
	// owner record: the slot numbers of fault reports.
	pos := len(p.slabs)
	if k := len(p.freePos); k > 0 {
		pos = p.freePos[k-1]
	}
	var base unsafe.Pointer
	if g, err := guard.NewSlab(p.size, n, guard.Owner{Pool: p.regID, FirstSlot: pos * p.nelems, Fields: p.dbg.layout.Fields()}); err == nil {
		base = g.Slot(0)
	} else {
		// T is pointer-free: bytes are as good as Ts to the collector.
		base = unsafe.Pointer(unsafe.SliceData(make([]byte, uintptr(n)*p.size)))
	}
	return unsafe.Slice((*T)(base), n)
}

func (p *Pool[T]) debugHeldLocked() int { return int(p.dbg.held.Load()) }

// callerStack records the stack from the caller of the function that calls
// it (a hook's caller), or returns 0 if stacks are off.
func callerStack(s debugmode.Settings) stack.ID {
	if s.StackDepth == 0 {
		return 0
	}
	return stack.Capture(2, s.StackDepth+internalFrames)
}

func frames(id uint32) violation.Stack { return violation.Stack(stack.ID(id).Frames()) }

// debugAlloc records the allocation of r, which the caller has marked
// stateLive: it checks that the slot is still zeroed (a write after the slot
// left quarantine shows here), and records the stack, the time and the
// test mark of the calling goroutine.
func (p *Pool[T]) debugAlloc(r slotRef[T]) {
	d := &r.s.dbg.slots[r.i]
	if !d.state.CompareAndSwap(dFree, dLive) {
		panic(debugStateError(p.owner.name, p.slotNum(r), d.state.Load()))
	}
	fault.PanicOnFault() // a read of a freed object on this goroutine becomes a report
	x := r.ptr()
	s := debugmode.Current()
	var id stack.ID
	if s.SampleEvery <= 1 || rand.IntN(s.SampleEvery) == 0 {
		id = callerStack(s)
	}
	now := clock.Now()
	if asan.Enabled {
		asan.Handed(unsafe.Pointer(x), p.size, uint32(id), now) // before the check below reads it
	}
	if off, bad := p.dbg.layout.Find(unsafe.Pointer(x), false); bad && p.reset == nil {
		l := p.dbg.layout
		name, from, to := l.Field(off)
		dm := damage{field: name, from: from, got: poison.Bytes(unsafe.Pointer(x), from, to), want: l.Expected(from, to, false)}
		v := p.writeAfterFree(r, d, dm, "Alloc",
			"the object was written after it was freed, at some time after its slot left the quarantine; found when the slot was reused")
		var zero T
		*x = zero
		p.reportAtReuse(r, d, v)
	}
	d.serial.Add(1)
	d.allocStack.Store(uint32(id))
	d.freeStack.Store(0)
	d.allocAt.Store(now)
	d.freeAt.Store(0)
	d.mark.Store(testlabel.Current())
	if s.Profile {
		liveProfAdd(profKey{p.id, p.slotNum(r)}, 1)
	}
}

// reportAtReuse reports v, a write after free that an Alloc found in the
// slot r it is handing out, repaired already. The default handling does
// not panic in this innocent Alloc (see tracker.SetHandler); a handler
// may, and then the slot goes back to the pool, so that its counts stay
// right after the panic is recovered.
func (p *Pool[T]) reportAtReuse(r slotRef[T], d *slotDebug, v *violation.Violation) {
	done := false
	defer func() {
		if !done {
			d.state.Store(dFree)
			*r.st() = stateFree
			if p.bound != 0 {
				p.live.Add(-1)
			}
			if asan.Enabled {
				asan.Poison(unsafe.Pointer(r.ptr()), p.size)
			}
			p.putFree(r)
		}
	}()
	violation.Report(v)
	done = true
}

// debugFree is Free in debug builds.
func (p *Pool[T]) debugFree(x *T) {
	fault.PanicOnFault()
	addr := uintptr(unsafe.Pointer(x))
	sp := slabmap.Lookup(addr)
	if sp != nil && sp.Pool == p.id && (addr-sp.Base)%p.size == 0 {
		if err := p.debugFreeSlot(slotRef[T]{(*slab[T])(sp.Slab), uint32((addr - sp.Base) / p.size)}); err != nil {
			panic(err)
		}
		return
	}
	if p.dbg.dropCheck {
		if sh := p.shadowAt(addr); sh != nil {
			p.freeShadow(sh, x)
			return
		}
	}
	v := p.foreignViolation(addr, sp, opFree)
	v.Call = frames(uint32(callerStack(debugmode.Current())))
	violation.Report(v)
}

// debugFreeSlot frees slot r: Free, FreeRef and Scope.Release come here.
// It returns the error of the pool's reset function if it panicked; the
// slot is freed all the same (reset.go), and the caller panics with it.
func (p *Pool[T]) debugFreeSlot(r slotRef[T]) *resetPanic {
	fault.PanicOnFault()
	d := &r.s.dbg.slots[r.i]
	call := callerStack(debugmode.Current())
	if !d.state.CompareAndSwap(dLive, dFreeing) {
		violation.Report(p.doubleFree(r, d, call))
		return nil
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
		v := p.violation(violation.ScopedFree, r, d)
		v.Op = "Free"
		v.Call = frames(uint32(call))
		v.Detail = "the object was allocated with AllocIn: its Scope's Release frees it"
		v.Err = p.badFreeError(r, st, opFree)
		violation.Report(v)
		return nil
	}
	return p.finishFree(r, d, p.dbg.qcap > 0)
}

// finishFree finishes the free of slot r, whose debug state the caller
// moved to dFreeing: the slot is zeroed, or readied by the pool's reset
// function (WithReset), and goes to the quarantine, or back to this P's
// cache. It returns the error of a reset function that panicked, once the
// slot is freed all the same with the object zeroed (see reset.go).
//
// A bounded pool counts the object out last, once the slot can be found
// again (in the quarantine, a cache, or retired), as default builds do: a
// TryAlloc that the count admits must find a slot.
func (p *Pool[T]) finishFree(r slotRef[T], d *slotDebug, quarantine bool) *resetPanic {
	if p.bound != 0 {
		defer p.live.Add(-1)
	}
	liveProfRemove(profKey{p.id, p.slotNum(r)})
	x := r.ptr()
	if g := r.s.gens.Load(); g != nil && !p.nextGen(r, *g) {
		race.WriteRange(unsafe.Pointer(x), int(p.size))
		if asan.Enabled {
			asan.Freed(unsafe.Pointer(x), p.size, d.freeStack.Load(), d.freeAt.Load())
		}
		d.state.Store(dRetired)
		return nil
	}
	*r.st() = stateFree
	race.WriteRange(unsafe.Pointer(x), int(p.size)) // a later use is a race with this Free
	if p.reset == nil {
		p.storeFreed(r, d, x, quarantine, false)
		return nil
	}
	ran := false
	defer func() {
		if !ran {
			// runtime.Goexit in the reset, which goes on once the slot
			// is freed: runReset zeroed the object.
			p.storeFreed(r, d, x, quarantine, false)
		}
	}()
	failure := p.runReset(x)
	ran = true
	p.storeFreed(r, d, x, quarantine, failure == nil)
	if failure != nil {
		return p.resetError(failure, r, "Free")
	}
	return nil
}

// storeFreed puts the freed object x of slot r (debug record d) in the
// quarantine, or zeroes it and gives its slot back to this P's cache. kept
// is set if the pool's reset function readied x: what it kept is kept.
func (p *Pool[T]) storeFreed(r slotRef[T], d *slotDebug, x *T, quarantine, kept bool) {
	if !quarantine {
		if !kept {
			var zero T
			*x = zero // a typed store: pointer words are cleared with write barriers
		}
		if asan.Enabled {
			asan.Freed(unsafe.Pointer(x), p.size, d.freeStack.Load(), d.freeAt.Load())
		}
		d.state.Store(dFree)
		// The debug state machine made this Free exclusive: no racing
		// Free can have put r in an inbox, so putFree reports no dup.
		p.putFree(r)
		return
	}
	e := qent[T]{r: r}
	p.poisonFreed(&e, x, fault.Record{Pool: p.regID, Slot: p.slotNum(r), Serial: d.serial.Load()}, r.s.dbg.guard, int(r.i), kept)
	if asan.Enabled {
		asan.Freed(unsafe.Pointer(x), p.size, d.freeStack.Load(), d.freeAt.Load())
	}
	d.state.Store(dQuarantined)
	p.dbg.held.Add(1)
	p.enqueue(e)
}

// poisonFreed readies the freed object x, bound for the quarantine as the
// entry e, and records in e how: its pages are protected, if it sits on
// guard slab g (slot i), else its reference words point into a fault cell
// recorded as rec and its scalars hold the poison pattern (poison.Layout).
// If a reset function readied x (kept), what it kept is kept: only what it
// left zero is poisoned, and e keeps a copy of the object as the reset left
// it, to check at reuse.
func (p *Pool[T]) poisonFreed(e *qent[T], x *T, rec fault.Record, g *guard.Slab, i int, kept bool) {
	if g != nil {
		// Discarding the pages zeroes the object, as Free must, unless
		// a reset kept part of it.
		err := g.Protect(i, !kept)
		if err == nil {
			e.guarded = true
			return
		}
	}
	if p.dbg.guarded && e.h == nil {
		p.dbg.guardFallbacks.Add(1) // no guard slab, or the map-count budget is spent
	}
	if kept {
		img := p.dbg.image(unsafe.Sizeof(*x))
		copy(img, unsafe.Slice((*byte)(unsafe.Pointer(x)), len(img)))
		e.image = img
		e.cell = p.dbg.layout.PoisonZero(unsafe.Pointer(x), rec, img)
		return
	}
	e.cell = p.dbg.layout.Poison(unsafe.Pointer(x), rec)
}

// image returns a buffer of n bytes for a copy of a freed object.
func (d *poolDebug[T]) image(n uintptr) []byte {
	d.imu.Lock()
	defer d.imu.Unlock()
	if k := len(d.spare); k > 0 {
		img := d.spare[k-1]
		d.spare = d.spare[:k-1]
		return img
	}
	return make([]byte, n)
}

// putImage recycles a buffer that image returned.
func (d *poolDebug[T]) putImage(img []byte) {
	d.imu.Lock()
	defer d.imu.Unlock()
	d.spare = append(d.spare, img)
}

// debugFreeRef is FreeRef in debug builds.
func (p *Pool[T]) debugFreeRef(ref Ref[T]) {
	fault.PanicOnFault()
	r, ok := p.refLookup(ref)
	if !ok {
		v := p.staleRef(p.staleRefError(ref, "FreeRef"), ref)
		v.Op = "FreeRef"
		violation.Report(v)
		return
	}
	if x := p.pinnedShadow(r); x != nil {
		if sh := p.shadowAt(uintptr(unsafe.Pointer(x))); sh != nil {
			p.freeShadow(sh, x)
			return
		}
	}
	if err := p.debugFreeSlot(r); err != nil {
		panic(err)
	}
}

// debugObject returns the object that the live slot r holds for Deref: the
// slot itself, or the shadow that RefOf pinned for it.
func (p *Pool[T]) debugObject(r slotRef[T]) *T {
	if x := p.pinnedShadow(r); x != nil {
		return x
	}
	return r.ptr()
}

// debugLiveObjects appends a record of each live object of the pool.
func (p *Pool[T]) debugLiveObjects(dst []registry.Object) []registry.Object {
	// Count first, so that a pool of millions of live objects fills one
	// slice of the right size instead of copying it at every doubling.
	n := 0
	p.debugEachLive(func(registry.Object) { n++ })
	dst = slices.Grow(dst, n)
	p.debugEachLive(func(o registry.Object) { dst = append(dst, o) })
	return dst
}

// debugEachLive calls fn with a record of each live object of the pool,
// without a slice of them all: a report that only counts them by site
// takes memory for the sites alone.
func (p *Pool[T]) debugEachLive(fn func(registry.Object)) {
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
				addr = uintptr(unsafe.Pointer(slotRef[T]{s, uint32(i)}.ptr()))
			}
			fn(registry.Object{
				Slot:    s.pos*p.nelems + i,
				Addr:    addr,
				Serial:  d.serial.Load(),
				Stack:   stack.ID(d.allocStack.Load()),
				AllocAt: d.allocAt.Load(),
				Mark:    d.mark.Load(),
			})
		}
	}
}

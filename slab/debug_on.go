//go:build slabdebug

package slab

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/clock"
	"github.com/slabtrack/slabtrack/internal/liveprof"
	"github.com/slabtrack/slabtrack/internal/poison"
	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/internal/registry"
	"github.com/slabtrack/slabtrack/internal/spanmap"
	"github.com/slabtrack/slabtrack/internal/stack"
	"github.com/slabtrack/slabtrack/tracker"
)

// Debug mode (-tags slabdebug). The slabs keep their release layout; what
// debug builds add lives in side tables: a slotDebug record per slot
// (spanDebug, made with the span), and per pool a quarantine of freed slots
// and the drop-detection shadows (poolDebug). See package tracker for the
// reports and the settings.
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

// slotDebug is the debug record of one slot: 40 bytes.
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

	// pending holds violations found where they could not be reported:
	// under the pool's lock, or on the runtime's cleanup goroutine. The
	// pool's next Alloc or Free reports them, and Check returns them.
	pmu        sync.Mutex
	pending    []*tracker.Violation
	hasPending atomic.Bool

	smu      sync.Mutex
	shadows  map[uintptr]*shadow[T] // live and freed shadows, by address, until collected
	serial   uint64                 // last shadow serial
	dropped  []registry.Object      // the first maxDropped objects dropped without Free
	ndropped int
}

// maxDropped bounds the dropped objects a pool remembers for reports.
const maxDropped = 4096

// qent is a quarantine entry: a slot, or a shadow object (h and sh set).
type qent[T any] struct {
	r  slotRef[T]
	h  *T
	sh *shadow[T]
}

// A shadow is the debug record of a heap object handed out in place of a
// slot under drop detection.
type shadow[T any] struct {
	serial     uint64
	r          slotRef[T] // the slot that accounts for the object
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
// left quarantine shows here), and records the stack and time.
func (p *Pool[T]) debugAlloc(r slotRef[T]) {
	d := &r.s.dbg.slots[r.i]
	if !d.state.CompareAndSwap(dFree, dLive) {
		panic(fmt.Errorf("slab: internal error: pool %q handed out slot %d, whose debug state is %d", p.owner.name, p.slotNum(r), d.state.Load()))
	}
	x := r.ptr()
	if off, bad := p.dbg.layout.Find(unsafe.Pointer(x), false); bad {
		v := p.writeAfterFree(r, d, off, false,
			"the object was written after its slot left the quarantine; detected when the slot was reused")
		var zero T
		*x = zero
		if tracker.Panics() {
			// Give the slot back, so that the pool's counts stay right
			// after the panic is recovered.
			d.state.Store(dFree)
			r.s.state[r.i] = stateFree
			if p.bound != 0 {
				p.live.Add(-1)
			}
			p.release(r)
		}
		tracker.Report(v)
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
	if s.Profile {
		liveprof.Add(profKey{p.id, p.slotNum(r)}, 1)
	}
	p.reportPending()
}

// debugFree is Free in debug builds.
func (p *Pool[T]) debugFree(x *T) {
	p.reportPending()
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
	v := p.foreignViolation(addr, sp)
	v.Call = frames(uint32(callerStack(tracker.CurrentSettings())))
	v.Err = p.foreignError(addr, sp)
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
	if st := r.s.state[r.i]; st != stateLive {
		d.freeStack.Store(0)
		d.freeAt.Store(0)
		d.state.Store(dLive)
		v := p.violation(tracker.ScopedFree, r, d)
		v.Call = frames(uint32(call))
		v.Detail = "the object was allocated with AllocIn: its Scope's Release frees it"
		v.Err = fmt.Errorf("%w: Free of %s (pool %q, slot %d) that was allocated with AllocIn; Scope.Release frees it",
			ErrScoped, p.owner.typeName, p.owner.name, p.slotNum(r))
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
	r.s.state[r.i] = stateFree
	race.WriteRange(unsafe.Pointer(x), int(p.size)) // a later use is a race with this Free
	var zero T
	*x = zero // a typed store: pointer words are cleared with write barriers
	if quarantine {
		p.dbg.layout.Fill(unsafe.Pointer(x))
		d.state.Store(dQuarantined)
		p.dbg.held.Add(1)
		p.enqueue(qent[T]{r: r})
		return
	}
	d.state.Store(dFree)
	p.release(r)
}

// release puts the free, zeroed slot r into this P's cache, as Free does.
func (p *Pool[T]) release(r slotRef[T]) {
	x := r.ptr()
	race.ReleaseMerge(unsafe.Pointer(x))
	e := cslot[T]{x, &r.s.state[r.i]}
	if !p.cachePut(e) {
		p.freeSlow(e)
	}
}

// enqueue adds e to the quarantine. When the quarantine is full, the oldest
// entry leaves it: its slot goes back to its span under p.mu (lock order:
// p.mu, then qmu), so that takeLocked, which holds p.mu, finds every free
// slot either in a span or in the quarantine, never between the two.
func (p *Pool[T]) enqueue(e qent[T]) {
	d := &p.dbg
	d.qmu.Lock()
	if d.ring == nil {
		d.ring = make([]qent[T], d.qcap)
	}
	if d.n < len(d.ring) {
		d.pushLocked(e)
		d.qmu.Unlock()
		return
	}
	d.qmu.Unlock()

	p.mu.Lock()
	d.qmu.Lock()
	var out qent[T]
	evict := d.n == len(d.ring)
	if evict {
		out = d.popLocked()
	}
	d.pushLocked(e)
	d.qmu.Unlock()
	var v *tracker.Violation
	if evict {
		v = p.leaveLocked(out)
	}
	p.mu.Unlock()
	if v != nil {
		tracker.Report(v) // the pool is consistent again
	}
}

// pushLocked adds e as the newest entry; d.qmu is held and there is room.
func (d *poolDebug[T]) pushLocked(e qent[T]) {
	d.ring[(d.head+d.n)%len(d.ring)] = e
	d.n++
}

// popLocked takes the oldest entry out of the quarantine; d.qmu is held.
func (d *poolDebug[T]) popLocked() qent[T] {
	e := d.ring[d.head]
	d.ring[d.head] = qent[T]{}
	d.head = (d.head + 1) % len(d.ring)
	d.n--
	return e
}

const leftDetail = "the object was written after it was freed; detected when it left the quarantine"

// leaveLocked verifies the poison of e, an entry taken out of the
// quarantine, zeroes it, and gives its slot back to its span; p.mu is held.
// It returns the write after free found, if any, for the caller to report
// once the pool is unlocked.
func (p *Pool[T]) leaveLocked(e qent[T]) *tracker.Violation {
	var v *tracker.Violation
	var zero T
	if e.h != nil {
		if off, bad := p.dbg.layout.Find(unsafe.Pointer(e.h), true); bad {
			v = p.shadowWriteAfterFree(e.sh, e.h, off, leftDetail)
		}
		*e.h = zero
		e.sh.state.Store(dFree)
		return v
	}
	d := &e.r.s.dbg.slots[e.r.i]
	x := e.r.ptr()
	if off, bad := p.dbg.layout.Find(unsafe.Pointer(x), true); bad {
		v = p.writeAfterFree(e.r, d, off, true, leftDetail)
	}
	*x = zero
	race.ReleaseMerge(unsafe.Pointer(x))
	d.state.Store(dFree)
	p.dbg.held.Add(-1)
	p.returnLocked([]slotRef[T]{e.r})
	p.slowFrees++ // counted as freed while held, see Stats
	return v
}

// debugFlushQuarantine empties the quarantine, as Trim and the idle trim
// do: slots in it would keep their slabs from being released. Writes after
// free that it finds are reported at the pool's next Alloc or Free, or by
// Check: the idle trim runs on the runtime's cleanup goroutine.
func (p *Pool[T]) debugFlushQuarantine() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.debugUnquarantineLocked() {
	}
}

// debugUnquarantineLocked gives the oldest entries of the quarantine back,
// up to a cache refill's worth of slots, so that the quarantine delays reuse
// without making the pool grow: takeLocked calls it, with p.mu held, before
// it adds a span. It reports whether it freed any slot.
func (p *Pool[T]) debugUnquarantineLocked() bool {
	d := &p.dbg
	k := 0
	d.qmu.Lock()
	defer d.qmu.Unlock()
	for d.n > 0 && k < refillBatch {
		e := d.popLocked()
		if v := p.leaveLocked(e); v != nil {
			p.postpone(v)
		}
		if e.h == nil {
			k++
		}
	}
	return k > 0
}

// postpone keeps v for the pool's next Alloc or Free, or Check, to report.
func (p *Pool[T]) postpone(v *tracker.Violation) {
	p.dbg.pmu.Lock()
	p.dbg.pending = append(p.dbg.pending, v)
	p.dbg.hasPending.Store(true)
	p.dbg.pmu.Unlock()
}

// takePending returns the violations kept by postpone, and forgets them.
func (p *Pool[T]) takePending() []*tracker.Violation {
	if !p.dbg.hasPending.Load() {
		return nil
	}
	p.dbg.pmu.Lock()
	vs := p.dbg.pending
	p.dbg.pending = nil
	p.dbg.hasPending.Store(false)
	p.dbg.pmu.Unlock()
	return vs
}

// reportPending reports the violations kept by postpone, on the goroutine of
// an Alloc or Free of the pool.
func (p *Pool[T]) reportPending() {
	for _, v := range p.takePending() {
		tracker.Report(v)
	}
}

func (p *Pool[T]) debugCheckQuarantine() error {
	const detail = "the object was written after it was freed; detected by tracker.Check while it was in the quarantine"
	d := &p.dbg
	var vs []error
	for _, v := range p.takePending() {
		vs = append(vs, v)
	}
	d.qmu.Lock()
	defer d.qmu.Unlock()
	for k := range d.n {
		e := d.ring[(d.head+k)%len(d.ring)]
		x, sh := e.h, e.sh
		if x == nil {
			x = e.r.ptr()
		}
		off, bad := d.layout.Find(unsafe.Pointer(x), true)
		if !bad {
			continue
		}
		if sh != nil {
			vs = append(vs, p.shadowWriteAfterFree(sh, x, off, detail))
		} else {
			vs = append(vs, p.writeAfterFree(e.r, &e.r.s.dbg.slots[e.r.i], off, true, detail))
		}
		// Poison it again, so that the write is reported once.
		var zero T
		*x = zero
		d.layout.Fill(unsafe.Pointer(x))
	}
	return errors.Join(vs...)
}

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

// debugFreeRef is FreeRef in debug builds.
func (p *Pool[T]) debugFreeRef(ref Ref[T]) {
	if r, ok := p.refLookup(ref); ok {
		p.debugFreeSlot(r)
		return
	}
	tracker.Report(p.staleRef(p.staleRefError(ref), ref))
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
	sh := &shadow[T]{r: r}
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
		Slot:      p.slotNum(r),
		Addr:      addr,
		Serial:    d.serial.Load(),
		Stack:     stack.ID(sh.allocStack.Load()),
		AllocAt:   sh.allocAt.Load(),
		DroppedAt: now,
	}
	p.dbg.smu.Lock()
	if len(p.dbg.dropped) < maxDropped {
		p.dbg.dropped = append(p.dbg.dropped, obj)
	}
	p.dbg.ndropped++
	p.dbg.smu.Unlock()

	if d.state.CompareAndSwap(dLive, dFreeing) {
		d.shadow.Store(0)
		d.freeStack.Store(0)
		d.freeAt.Store(now)
		p.releaseFreed(r, d, false)
	}
	// A panic here would kill the process from the cleanup goroutine, so
	// dropped objects go to a handler only if one is set; Find reports them
	// either way.
	if !tracker.Panics() {
		tracker.Report(&tracker.Violation{
			Kind: tracker.Dropped, Pool: p.owner.name, Type: p.owner.typeName, Slot: obj.Slot, Addr: addr,
			Detail:   "the GC found the object unreachable, and it was never freed; its slot was reclaimed",
			Alloc:    frames(uint32(obj.Stack)),
			AllocAge: clock.Age(obj.AllocAt),
		})
	}
}

// freeShadow is Free of the shadow x.
func (p *Pool[T]) freeShadow(sh *shadow[T], x *T) {
	call := callerStack(tracker.CurrentSettings())
	if !sh.state.CompareAndSwap(dLive, dFreeing) {
		seen := sh.state.Load()
		settle(&sh.state, &sh.freeStack)
		v := p.shadowViolation(tracker.DoubleFree, sh, x)
		v.Call = frames(uint32(call))
		v.Detail = freedDetail(seen, false) + " (drop detection: the object is a heap copy standing for its slot)"
		v.Err = slotError(ErrDoubleFree, p.owner.typeName, p.owner.name, p.slotNum(sh.r))
		tracker.Report(v)
		return
	}
	now := clock.Now()
	sh.freeStack.Store(uint32(call))
	sh.freeAt.Store(now)

	// The slot only stood for the object, and the user never held it:
	// release it now. The object itself goes to the quarantine.
	r := sh.r
	d := &r.s.dbg.slots[r.i]
	if !d.state.CompareAndSwap(dLive, dFreeing) {
		panic(fmt.Errorf("slab: internal error: the slot of a live shadow of pool %q is not live", p.owner.name))
	}
	d.shadow.Store(0)
	d.freeStack.Store(uint32(call))
	d.freeAt.Store(now)
	p.releaseFreed(r, d, false)

	race.WriteRange(unsafe.Pointer(x), int(p.size))
	var zero T
	*x = zero
	if p.dbg.qcap == 0 {
		sh.state.Store(dFree)
		return
	}
	p.dbg.layout.Fill(unsafe.Pointer(x))
	sh.state.Store(dQuarantined)
	p.enqueue(qent[T]{h: x, sh: sh})
}

func (p *Pool[T]) shadowViolation(k tracker.Kind, sh *shadow[T], x *T) *tracker.Violation {
	return &tracker.Violation{
		Kind:     k,
		Pool:     p.owner.name,
		Type:     p.owner.typeName,
		Slot:     p.slotNum(sh.r),
		Addr:     uintptr(unsafe.Pointer(x)),
		Alloc:    frames(sh.allocStack.Load()),
		AllocAge: clock.Age(sh.allocAt.Load()),
		Free:     frames(sh.freeStack.Load()),
		FreeAge:  clock.Age(sh.freeAt.Load()),
	}
}

func (p *Pool[T]) shadowWriteAfterFree(sh *shadow[T], x *T, off uintptr, detail string) *tracker.Violation {
	v := p.shadowViolation(tracker.WriteAfterFree, sh, x)
	p.describeWrite(v, unsafe.Pointer(x), off, true, detail)
	return v
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
			})
		}
	}
	return dst
}

func (p *Pool[T]) debugDropped(dst []registry.Object) []registry.Object {
	p.dbg.smu.Lock()
	defer p.dbg.smu.Unlock()
	return append(dst, p.dbg.dropped...)
}

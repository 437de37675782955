package slab

import (
	"errors"
	"reflect"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/clock"
	"github.com/slabtrack/slabtrack/internal/guard"
	"github.com/slabtrack/slabtrack/internal/poison"
	"github.com/slabtrack/slabtrack/internal/registry"
	"github.com/slabtrack/slabtrack/internal/slabmap"
	"github.com/slabtrack/slabtrack/internal/stack"
)

// Sampled guard pages (WithGuardSampling), in default builds, as GWP-ASan
// does for malloc: about one object in every, of a pool of a pointer-free
// type, is placed on a guard page of its own instead of in its slab, and
// its pages are made inaccessible at Free, so that a later read or write
// of it faults at the access. The choice rides on WithSampling's (see
// sampling.go): it is made where slots enter a per-P cache's supply, never
// on the fast paths, so a pool without the option pays nothing, and a
// sampled object's Free takes the general path.
//
// The sampled object's slot in its slab stays assigned while the object
// lives, marked stateSampled, and stands for it in the pool's bookkeeping
// (Stats, the bound, Refs), as a drop-detection shadow does in debug
// builds. The guard slab is registered in the address map under an id of its
// own, so that Free, FreeRef and RefOf of the object find the slot that
// stands for it (Pool.guardSlot), and Deref of a Ref to that slot returns the
// object. The ring reuses the slot freed longest ago: a freed object stays
// inaccessible until every other slot of the ring has been used since.

// guardRingSlots is the number of objects of a pool that can be on guard
// pages at once: a page each, and up to two kernel mappings each while freed.
const guardRingSlots = 64

// A guardRing is a pool's guard slab for sampled objects, and, per slot of
// the ring, the slot of the pool that stands for its object and the record
// of its last object, for fault reports.
type guardRing struct {
	ring *guard.Ring
	slab *guard.Slab
	meta slabmap.Slab // the slab's entry in the address map, Pool = id
	id   uint64
	// stand holds, per ring slot, the slab and index of the pool's slot
	// that stands for its live object; slab is nil while the ring slot is
	// free.
	stand []standIn
	recs  []ringRec
}

type standIn struct {
	slab atomic.Pointer[byte] // the *slab[T], as an unsafe.Pointer
	i    atomic.Uint32
}

// ringRec is the record of a ring slot's last object, read by fault reports
// from any goroutine: atomic words.
type ringRec struct {
	alloc, free     atomic.Uint32 // stack.IDs
	allocAt, freeAt atomic.Int64
	serial          atomic.Uint32 // objects the ring slot has held
}

// guardAlloc places the object that the slot r stands for on a guard page,
// and returns its address and ring slot; nil if the ring cannot be made or
// every ring slot is live.
func (p *Pool[T]) guardAlloc(r slotRef[T]) (unsafe.Pointer, int) {
	s := p.sample
	g := s.ring.Load()
	if g == nil {
		if s.ringErr.Load() {
			return nil, 0
		}
		var err error
		if g, err = p.newGuardRing(); err != nil {
			s.ringErr.Store(true)
			return nil, 0
		}
	}
	k, ok := g.ring.Alloc()
	if !ok {
		return nil, 0
	}
	g.stand[k].i.Store(r.i)
	g.stand[k].slab.Store((*byte)(unsafe.Pointer(r.s)))
	return g.slab.Slot(k), k
}

// newGuardRing makes the pool's guard ring, once.
func (p *Pool[T]) newGuardRing() (*guardRing, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if g := p.sample.ring.Load(); g != nil {
		return g, nil
	}
	fields := poison.For(reflect.TypeFor[T]()).Fields()
	sl, err := guard.NewSlab(unsafe.Sizeof(*new(T)), guardRingSlots, guard.Owner{Pool: p.regID, Fields: fields})
	if err != nil {
		return nil, err
	}
	g := &guardRing{ring: guard.NewRing(sl), slab: sl, id: slabmap.NewPoolID()}
	g.stand = make([]standIn, sl.Len())
	g.recs = make([]ringRec, sl.Len())
	g.meta = slabmap.Slab{Base: sl.Base(), Limit: sl.Limit(), Pool: g.id, Slab: unsafe.Pointer(g), Owner: p.owner}
	if err := p.owner.add(&g.meta); err != nil {
		_ = sl.Retire()
		return nil, err
	}
	// The slab outlives the pool only as long as the program holds its
	// objects; it is never unmapped (see package guard).
	runtime.AddCleanup(p, func(s *guard.Slab) { _ = s.Retire() }, sl)
	p.sample.ring.Store(g)
	return g, nil
}

// allocated records the allocation of an object in ring slot k.
func (g *guardRing) allocated(k int, rec sampleRec) {
	r := &g.recs[k]
	r.serial.Add(1)
	r.alloc.Store(uint32(rec.stack))
	r.allocAt.Store(rec.at)
	r.free.Store(0)
	r.freeAt.Store(0)
}

// free ends the object of ring slot k, freed at the stack at: its page is
// protected, unless the map-count budget is spent (counted in fallbacks).
func (g *guardRing) free(k int, at stack.ID, fallbacks *atomic.Uint64) {
	r := &g.recs[k]
	r.free.Store(uint32(at))
	r.freeAt.Store(clock.Now())
	g.stand[k].slab.Store(nil)
	if err := g.ring.Free(k); err != nil && errors.Is(err, guard.ErrBudget) {
		fallbacks.Add(1)
	}
}

// guardSlot returns the slot that stands for the object at addr in the
// pool's guard ring (sp is the ring's entry in the address map), for the
// call o. It panics as Free does if addr is no live object there.
func (p *Pool[T]) guardSlot(addr uintptr, sp *slabmap.Slab, o op) slotRef[T] {
	g := (*guardRing)(sp.Slab)
	k, off, ok := g.slab.Index(addr)
	if ok && off == 0 {
		if s := g.stand[k].slab.Load(); s != nil {
			return slotRef[T]{(*slab[T])(unsafe.Pointer(s)), g.stand[k].i.Load()}
		}
		panic(p.guardFreedError(k, o))
	}
	panic(p.guardForeignError(addr, o, off))
}

// sampledObject returns the object that the live, sampled slot r holds: r
// itself, or the object on a guard page it stands for.
func (p *Pool[T]) sampledObject(r slotRef[T]) *T {
	if g := p.sample.ring.Load(); g != nil {
		p.sample.mu.Lock()
		rec := p.sample.recs[p.slotNum(r)]
		p.sample.mu.Unlock()
		if rec.guard != 0 {
			return (*T)(g.slab.Slot(rec.guard - 1))
		}
	}
	return r.ptr()
}

// describeGuard describes ring slot k for a fault report.
func (s *sampler) describeGuard(k int) registry.FaultSlot {
	g := s.ring.Load()
	if g == nil || k < 0 || k >= len(g.recs) {
		return registry.FaultSlot{}
	}
	r := &g.recs[k]
	fs := registry.FaultSlot{Found: true, Addr: uintptr(g.slab.Slot(k))}
	if g.stand[k].slab.Load() != nil {
		fs.Reused = true // live again: the fault was on its previous object
		return fs
	}
	fs.Alloc, fs.Free = stack.ID(r.alloc.Load()), stack.ID(r.free.Load())
	fs.AllocAt, fs.FreeAt = r.allocAt.Load(), r.freeAt.Load()
	return fs
}

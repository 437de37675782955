package slab

import (
	"math/bits"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/registry"
)

// registered is the face a Pool shows to process-wide visitors (the automatic
// trim and package tracker, through internal/registry). It is the Pool
// itself under another type, so that these methods stay out of Pool's API.
type registered[T any] Pool[T]

func (t *registered[T]) pool() *Pool[T] { return (*Pool[T])(t) }

func (t *registered[T]) Name() string     { return t.owner.name }
func (t *registered[T]) TypeName() string { return t.owner.typeName }
func (t *registered[T]) onGC()            { t.pool().onGC() }

// Counters returns the pool's identity and its quarantine's length. The
// quarantine alone: the free slots that scopes hold (heldLocked counts
// them too) are neither live nor quarantined.
func (t *registered[T]) Counters() registry.Counters {
	p := t.pool()
	p.mu.Lock()
	quarantined := p.debugHeldLocked()
	p.mu.Unlock()
	return registry.Counters{
		ID:          p.id,
		Name:        p.owner.name,
		Type:        p.owner.typeName,
		Size:        unsafe.Sizeof(*new(T)), // not p.size: the slots of a pool on guard pages are further apart
		Quarantined: quarantined,
	}
}

// Stats returns the pool's Stats, for package tracker, which finds it on
// the registered pool by this method.
func (t *registered[T]) Stats() Stats { return t.pool().Stats() }

func (t *registered[T]) LiveObjects(dst []registry.Object) []registry.Object {
	p := t.pool()
	if p.sample != nil {
		dst = p.sample.objects(dst)
	}
	return p.debugLiveObjects(dst)
}

// EachLiveObject calls fn with a record of each live object, as
// LiveObjects appends them, without a slice of them all.
func (t *registered[T]) EachLiveObject(fn func(registry.Object)) {
	p := t.pool()
	if p.sample != nil {
		for _, o := range p.sample.objects(nil) {
			fn(o)
		}
	}
	p.debugEachLive(fn)
}

func (t *registered[T]) Dropped(dst []registry.Object) []registry.Object {
	return t.pool().debugDropped(dst)
}

func (t *registered[T]) CheckQuarantine() []error { return t.pool().debugCheckQuarantine() }

// DescribeFault describes slot for a report of a fault on a freed object
// (registry.FaultDescriber): in debug builds a slot of the pool, whose
// reference words Free poisoned or whose guard page it protected; in
// default builds a slot of the guard ring of WithGuardSampling.
func (t *registered[T]) DescribeFault(slot int, serial uint32) registry.FaultSlot {
	p := t.pool()
	if debugMode {
		return p.debugDescribeFault(slot, serial)
	}
	if p.sample != nil {
		return p.sample.describeGuard(slot)
	}
	return registry.FaultSlot{}
}

// LiveSlots sets, in dst, the bit of every slot that holds a live object,
// allocated by Alloc or handed out in a scope, and returns dst, grown as
// needed: bit k of word k/64 is pool-wide slot k. The free slots that
// scopes hold for their next AllocIn are marked stateScoped too, but hold
// no object: their bits are cleared. Default builds keep no record per
// object; this is what they can tell of a pool's objects, for Find and
// tracker.IgnoreCurrent.
func (t *registered[T]) LiveSlots(dst []uint64) []uint64 {
	p := t.pool()
	table := *p.refTable.Load()
	for pos := range table {
		if s := table[pos].Load(); s != nil {
			dst = liveSlotsOf(dst, s.words, pos*p.nelems, len(s.mem))
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.sc.holders {
		dst = b.clearFreeSlots(dst, p.nelems)
	}
	return dst
}

// clearFreeSlots clears, in dst, the bits of the slots b holds and has not
// handed out, and returns dst. It reads b without synchronisation, as
// Stats does, and skips a state whose slots the pool took back (they are
// marked free, and may since hold other objects). The caller holds
// Pool.mu, which keeps b among the holders.
//
//go:norace
func (b *scopeSlots[T]) clearFreeSlots(dst []uint64, nelems int) []uint64 {
	if b.phase.Load() == scopeTaken {
		return dst
	}
	for k := range b.words {
		w := &b.words[k]
		free := w.mask &^ b.used(k)
		first := w.s.pos*nelems + int(w.base)
		for free != 0 {
			j := bits.TrailingZeros64(free)
			free &= free - 1
			if i := first + j; i/64 < len(dst) {
				dst[i/64] &^= 1 << (i % 64)
			}
		}
	}
	return dst
}

// liveSlotsOf sets the bits of the live and scoped slots among the n slots
// of words, the first of which is slot first. The state bytes are read
// without synchronisation, as Stats reads the caches (the owners write them
// with plain stores): exact once the pool's users are quiescent.
//
//go:norace
func liveSlotsOf(dst []uint64, words []word, first, n int) []uint64 {
	if need := (first + n + 63) / 64; len(dst) < need {
		dst = append(dst, make([]uint64, need-len(dst))...)
	}
	for i := range n {
		if st := words[i/64].state[i%64]; isLive(st) || st == stateScoped {
			k := first + i
			dst[k/64] |= 1 << (k % 64)
		}
	}
	return dst
}

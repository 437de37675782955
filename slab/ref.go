package slab

import (
	"fmt"
	"math"
	"sync/atomic"
)

// A Ref is a handle to an object of a Pool[T]: the object's slot and the
// slot's generation. Free bumps the generation, so a Ref kept past the
// object's Free is stale, and Deref and FreeRef on it panic with ErrStaleRef,
// every time and in every build, at the cost of one comparison.
//
// A Ref holds no pointer: it is 8 bytes, costs the GC nothing, and can be
// stored in maps or pointer-free structs. The zero Ref is never valid. A Ref
// is meaningful only to the pool that issued it: each pool numbers
// generations from its own starting point, so another pool's Ref is caught
// as stale unless its generation happens to match.
type Ref[T any] struct {
	slot uint32 // the pool-wide slot number
	gen  uint32 // the slot's generation when the Ref was issued; never 0
}

// IsZero reports whether r is the zero Ref.
func (r Ref[T]) IsZero() bool { return r == Ref[T]{} }

// String returns r as "slot/generation".
func (r Ref[T]) String() string { return fmt.Sprintf("%d/%d", r.slot, r.gen) }

// AllocRef allocates a zeroed T like Alloc and returns a Ref to it. Use Deref to
// reach the T and FreeRef to free it.
//
// AllocRef panics like Alloc.
func (p *Pool[T]) AllocRef() Ref[T] {
	if p.bound != 0 && !p.admit() {
		panic(p.exhausted("AllocRef"))
	}
	return p.refOf(p.lookup(p.alloc()))
}

// RefOf returns a Ref to x, which must be live and allocated by p with Alloc,
// TryAlloc or AllocRef.
//
// RefOf panics with an error wrapping ErrForeign if p did not allocate x,
// ErrDoubleFree if x is free (or its slot was never allocated), and
// ErrScoped if x was allocated with AllocIn.
func (p *Pool[T]) RefOf(x *T) Ref[T] {
	if debugMode {
		if ref, ok := p.debugRefOf(x); ok {
			return ref // x is a shadow of drop detection
		}
	}
	r := p.lookupFor(x, opRefOf)
	if st := *r.st(); !isLive(st) {
		p.badFree(r, st, opRefOf)
	}
	return p.refOf(r)
}

// Deref returns the object r refers to.
//
// Deref panics with an error wrapping ErrStaleRef if the object has been freed
// since r was issued, or if r is the zero Ref or was issued by another pool.
func (p *Pool[T]) Deref(r Ref[T]) *T {
	if debugMode {
		return p.debugObject(p.refSlot(r, "Deref"))
	}
	s := p.refSlot(r, "Deref")
	if p.sample != nil && *s.st() == stateSampled {
		return p.sampledObject(s) // perhaps on a guard page (WithGuardSampling)
	}
	return s.ptr()
}

// FreeRef frees the object r refers to, like Free.
//
// FreeRef panics with an error wrapping ErrStaleRef as Deref does; a second
// FreeRef of the same Ref is stale, since the first bumped the generation.
// If the pool's reset function panics, FreeRef frees the object all the
// same and then panics, as Free does.
func (p *Pool[T]) FreeRef(r Ref[T]) {
	if debugMode {
		p.debugFreeRef(r)
		return
	}
	p.free(p.refSlot(r, "FreeRef"))
}

func (p *Pool[T]) refOf(r slotRef[T]) Ref[T] {
	num := p.slotNum(r)
	if num > math.MaxUint32 {
		panic(refSlotsError(p.owner.name, num))
	}
	g := r.s.gens.Load()
	if g == nil {
		g = p.makeGens(r.s)
	}
	return Ref[T]{slot: uint32(num), gen: (*g)[r.i].Load()}
}

// makeGens gives s its generation table, each slot starting at the floor of
// s's position.
func (p *Pool[T]) makeGens(s *slab[T]) *[]atomic.Uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if g := s.gens.Load(); g != nil {
		return g
	}
	gens := make([]atomic.Uint32, len(s.mem))
	floor := uint32(p.genFloor[s.pos])
	for i := range gens {
		gens[i].Store(floor)
	}
	s.gens.Store(&gens)
	// From now on every Free must bump the generation, which its fast
	// path does not do: see Pool.slowFree.
	p.slowFree.Store(true)
	return &gens
}

// refSlot returns the slot r refers to, or panics with ErrStaleRef naming
// the call op.
func (p *Pool[T]) refSlot(r Ref[T], op string) slotRef[T] {
	if s, ok := p.refLookup(r); ok {
		return s
	}
	err := p.staleRefError(r, op)
	if debugMode {
		panic(p.debugStaleRef(err, r))
	}
	panic(err)
}

// refLookup returns the slot r refers to, if r names a live object.
func (p *Pool[T]) refLookup(r Ref[T]) (slotRef[T], bool) {
	pos, i := int(r.slot)/p.nelems, r.slot%uint32(p.nelems)
	table := *p.refTable.Load()
	if r.gen != 0 && pos < len(table) {
		if s := table[pos].Load(); s != nil {
			// The state is read only once the generation matches: a
			// stale Ref's slot may be in use by another goroutine.
			if g := s.gens.Load(); g != nil && (*g)[i].Load() == r.gen && isLive(s.words[i/64].state[i%64]) {
				return slotRef[T]{s, i}, true
			}
		}
	}
	return slotRef[T]{}, false
}

// nextGen bumps the generation of a slot being freed. When the generation
// cannot grow, the slot is retired instead (zeroed, never reused) and
// nextGen returns false: a generation never wraps, so no old Ref can match
// again.
func (p *Pool[T]) nextGen(r slotRef[T], gens []atomic.Uint32) bool {
	if gens[r.i].Load() < math.MaxUint32 {
		gens[r.i].Add(1)
		return true
	}
	var zero T
	*r.ptr() = zero
	*r.st() = stateRetired
	p.mu.Lock()
	p.retired++
	p.slowFrees++
	p.mu.Unlock()
	return false
}

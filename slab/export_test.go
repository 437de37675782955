package slab

import (
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/spanmap"
)

// White-box hooks for the tests of package slab_test.

// MagSize is the most free slots a per-P cache holds: maxOwned words.
const MagSize = maxOwned * 64

// SlotsPerSlab returns the number of slots in each of p's slabs.
func SlotsPerSlab[T any](p *Pool[T]) int { return p.nelems }

// SetRefGen sets the generation of the live slot that r names to gen, as if
// the slot had been freed and reallocated that many times, and returns the Ref
// that names the object now. It panics like Get if r is stale.
func SetRefGen[T any](p *Pool[T], r Ref[T], gen uint32) Ref[T] {
	s := p.refSlot(r)
	(*s.s.gens.Load())[s.i].Store(gen)
	return Ref[T]{slot: r.slot, gen: gen}
}

// InSlab reports whether the process-wide address map places x in a slab
// that p holds now. It answers from the map alone, independently of the
// per-pool lookup hint that Free consults first.
func InSlab[T any](p *Pool[T], x *T) bool {
	sp := spanmap.Lookup(uintptr(unsafe.Pointer(x)))
	return sp != nil && sp.Pool == p.id
}

// CachedSlabs returns the number of distinct slabs that the free slots held
// in p's per-P caches belong to. Callers must not use p concurrently.
func CachedSlabs[T any](p *Pool[T]) int {
	seen := map[*span[T]]bool{}
	caches := p.allCaches()
	for i := range caches {
		c := &caches[i]
		for _, w := range c.owned[:c.n] {
			free := w.free | w.inbox.Load()
			if w == c.cur {
				free |= c.free
			}
			if free != 0 {
				seen[(*span[T])(w.span)] = true
			}
		}
	}
	return len(seen)
}

// HeldByScope reports whether x's slot is in the scoped state: handed out by
// AllocIn, or held free by a scope (release builds).
func HeldByScope[T any](p *Pool[T], x *T) bool {
	return *p.lookup(x).st() == stateScoped
}

// SampledSites returns the stacks of p's sampled live objects, each as the
// names of its functions, innermost first.
func SampledSites[T any](p *Pool[T]) [][]string {
	if p.sample == nil {
		return nil
	}
	var out [][]string
	for _, o := range p.sample.objects(nil) {
		var fns []string
		for _, f := range o.Stack.Frames() {
			fns = append(fns, f.Function)
		}
		out = append(out, fns)
	}
	return out
}

// OnGuardPage reports whether x is an object of p's guard ring
// (WithGuardSampling): on a guard page, not in a slab.
func OnGuardPage[T any](p *Pool[T], x *T) bool {
	if p.sample == nil {
		return false
	}
	g := p.sample.ring.Load()
	if g == nil {
		return false
	}
	_, off, ok := g.slab.Index(uintptr(unsafe.Pointer(x)))
	return ok && off == 0
}

package slab

import (
	"math/bits"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/clock"
	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/internal/registry"
	"github.com/slabtrack/slabtrack/internal/stack"
)

// Sampled allocation sites (WithSampling). A pool records the allocation
// stack of about one object in every, as the Go heap profiler does, so that
// a production binary can say where the live objects of a leaking pool come
// from: in tracker.Find, /debug/slab and the exhaustion error.
//
// The choice is made where slots enter a per-P cache's supply (a word taken
// from the central free set, an inbox collected, another owned word made
// current), never on the fast path: the cache sets the chosen slots aside,
// and allocSlow hands them out after the others, marked stateSampled, and
// records their stacks. So sampling costs the fast paths nothing, and a
// sampled object's Free takes the general path, which forgets the record.
// An object freed and allocated again on the same P in quick succession
// reuses its slot through the fast path and is rarely sampled; an object
// that stays live is drawn from fresh supply, which is what leaks are made
// of.

// sampler holds a pool's sampled live objects.
type sampler struct {
	// every is the sampling period: WithSampling's, WithGuardSampling's,
	// or, with both, the shorter; guardEvery is WithGuardSampling's, 0 if
	// off.
	every, guardEvery int
	mu                sync.Mutex
	recs              map[int]sampleRec // by pool-wide slot number
	// ring holds the objects placed on guard pages (WithGuardSampling),
	// once the first is.
	ring atomic.Pointer[guardRing]
	// ringErr is set once the ring could not be made (no guard pages on
	// the platform, or the map-count budget spent): the samples stay on
	// the heap.
	ringErr atomic.Bool
	// fallbacks counts the frees of objects on guard pages that could not
	// be protected (the map-count budget was spent).
	fallbacks atomic.Uint64
}

type sampleRec struct {
	addr  uintptr
	stack stack.ID
	at    int64 // clock.Now() at the allocation
	// guard is 1 + the object's slot in the guard ring, 0 if the object
	// is in its own slot.
	guard int
}

// newSampler returns the sampler of a pool that samples stacks every
// stacks objects and places objects on guard pages every guards objects
// (either may be 0: off).
func newSampler(stacks, guards int) *sampler {
	every := stacks
	if every == 0 || (guards > 0 && guards < every) {
		every = guards
	}
	return &sampler{every: every, guardEvery: guards, recs: map[int]sampleRec{}}
}

// sampleDepth is the most frames a sampled stack keeps.
const sampleDepth = 16

// record keeps the stack of the allocation of slot, at addr; skip frames
// of slabtrack's are above its caller's caller.
func (s *sampler) record(slot int, addr uintptr, skip int) {
	rec := sampleRec{addr: addr, stack: stack.Capture(skip+1, sampleDepth+skip), at: clock.Now()}
	s.mu.Lock()
	s.recs[slot] = rec
	s.mu.Unlock()
}

// forget drops the record of slot, freed; if its object is on a guard page,
// the object's pages are protected, and the stack of the Free recorded.
// skip frames of slabtrack's are above the Free's caller. A nil sampler
// does nothing.
func (s *sampler) forget(slot, skip int) {
	if s == nil {
		return
	}
	s.mu.Lock()
	rec := s.recs[slot]
	delete(s.recs, slot)
	s.mu.Unlock()
	if rec.guard != 0 {
		s.ring.Load().free(rec.guard-1, stack.Capture(skip+1, sampleDepth+skip), &s.fallbacks)
	}
}

// objects appends a record of each sampled live object to dst.
func (s *sampler) objects(dst []registry.Object) []registry.Object {
	s.mu.Lock()
	defer s.mu.Unlock()
	for slot, r := range s.recs {
		dst = append(dst, registry.Object{Slot: slot, Addr: r.addr, Stack: r.stack, AllocAt: r.at, Weight: s.every})
	}
	return dst
}

// nextSample returns how many more slots pass before the next one is
// sampled: exponentially distributed with mean every, as the heap
// profiler's intervals are, so that no allocation pattern aliases with it.
func nextSample(every int) int64 {
	return 1 + int64(rand.ExpFloat64()*float64(every-1))
}

// withhold sets aside, from free (slots entering the cache's supply), the
// slots the sampling countdown falls on, and returns the rest.
//
//go:norace
func (c *pcache) withhold(free uint64) uint64 {
	if c.every == 0 || free == 0 {
		return free
	}
	if c.sampleLeft == 0 {
		c.sampleLeft = nextSample(int(c.every))
	}
	n := int64(bits.OnesCount64(free))
	for c.sampleLeft <= n {
		// The sampleLeft-th slot of free, counting from the lowest.
		f := free
		for range c.sampleLeft - 1 {
			f &= f - 1
		}
		b := f & -f
		free &^= b
		c.sampled |= b
		n -= c.sampleLeft
		c.sampleLeft = nextSample(int(c.every))
	}
	c.sampleLeft -= n
	return free
}

// popSampled hands out a slot that withhold set aside, marked sampled, or
// returns nil.
//
//go:norace
func (c *pcache) popSampled(size uintptr) unsafe.Pointer {
	f := c.sampled
	if f == 0 {
		return nil
	}
	j := uintptr(bits.TrailingZeros64(f))
	c.cst[j&63] = stateSampled
	c.sampled = f & (f - 1)
	return unsafe.Add(c.mem, j*size)
}

// allocSampled finishes the allocation of x, a slot popSampled handed out:
// it records the stack. With WithGuardSampling, it may hand out an object
// on a guard page instead, for which x stands in the slab (see
// guardRing).
func (p *Pool[T]) allocSampled(x unsafe.Pointer) *T {
	r := p.lookup((*T)(x))
	slot := p.slotNum(r)
	if s := p.sample; s.guardEvery > 0 && (s.every == s.guardEvery || rand.IntN(s.guardEvery) < s.every) {
		if y, k := p.guardAlloc(r); y != nil {
			if asan.Enabled {
				asanUnpoisonStandIn(x, p.size) // Free zeroes it
			}
			rec := sampleRec{addr: uintptr(y), stack: stack.Capture(1, sampleDepth), at: clock.Now(), guard: k + 1}
			s.mu.Lock()
			s.recs[slot] = rec
			s.mu.Unlock()
			s.ring.Load().allocated(k, rec)
			if race.Enabled {
				race.Acquire(y)
			}
			return (*T)(y)
		}
	}
	p.sample.record(slot, uintptr(x), 0)
	return p.allocated((*T)(x))
}

package slab

// Stats is a snapshot of a pool's counters.
//
// The types follow one rule: a count of events since New (Allocs, Frees,
// Released, GuardFallbacks) only grows and is a uint64, as the cumulative
// metrics of runtime/metrics are; a count of what the pool holds at the
// moment (objects, slots, slabs, bytes) is an int64, 64 bits on every
// platform, so that sums and differences of them need no conversion.
//
// While other goroutines allocate and free, the fields are read at slightly
// different moments; once they are quiescent (synchronised with the caller),
// Live == Allocs - Frees exactly.
type Stats struct {
	Name string // the pool's name (WithName)
	Type string // the type of the pool's objects, *T, such as "*main.Order"

	Live   int64  // objects allocated and not yet freed, scoped ones included
	Allocs uint64 // objects ever allocated
	Frees  uint64 // objects ever freed
	// Scoped is the number of live objects allocated with AllocIn, whose
	// scopes have not been released yet; they are part of Live.
	Scoped int64

	Capacity int64 // slots in all slabs
	Slabs    int64 // slabs held
	Bytes    int64 // bytes of slot memory held: Capacity × the size of T
	// Cached is the number of free slots held by per-P caches, ready for
	// the next Alloc on their P, with the slots freed on other Ps that are
	// on their way back to their owners (in the inboxes of their words).
	Cached int64
	// ScopeFree is the number of free slots held by scopes, ready for their
	// next AllocIn: taken in a batch and not handed out yet, or kept by
	// Release for the scope's next use. Like Cached, they are not Live.
	ScopeFree int64
	// HighWater is the most slots that were assigned at once: live objects
	// plus free slots held by caches and scopes. It bounds the peak of Live
	// from above.
	HighWater int64
	// Retired is the number of slots whose Ref generations ran out; they
	// are never reused.
	Retired int64
	// Trimmed counts slabs handed back to the GC by Trim or the automatic
	// policy, and ReleasedBytes their slot memory.
	Trimmed      uint64
	TrimmedBytes uint64
	// GuardFallbacks counts the frees of objects on guard pages that were
	// not protected, because the budget of kernel mappings that guard pages
	// share was spent (see WithGuardPages) or, in debug builds, the pool
	// could not map a guard slab: debug builds poisoned those objects
	// instead, default builds (WithGuardSampling) left them accessible. 0
	// for pools without guard pages.
	GuardFallbacks uint64
	// MaxObjects is the pool's bound (WithMaxObjects), 0 if it has none,
	// and Exhausted counts the allocations it refused: TryAlloc and
	// TryAllocIn calls that returned ErrExhausted, and Alloc, AllocIn and
	// AllocRef calls that panicked with it.
	MaxObjects int64
	Exhausted  uint64
}

// Stats returns a snapshot of the pool's counters. It takes the pool's
// central lock briefly; it is cheap enough for a metrics scrape, not for a
// hot path. It reads the per-P caches' counters without stopping them:
// Alloc and Free served by a cache wait for no scrape, and take the central
// lock only when a cache must refill from the slabs (see Stats' type for
// how exact the figures are).
func (p *Pool[T]) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	// The central words' inboxes are the pool's to collect: a slot that a
	// racing double free left there is dropped now rather than counted.
	p.collectInboxesLocked()
	frees, inboxed, held := p.cacheCounts()
	raced := p.racedLeftovers() // counted twice, see racedLeftovers
	cached := held + inboxed - raced
	frees -= uint64(raced)
	scoped, scopeFree, scopeFrees := p.sc.countsLocked()
	// Quarantined slots were freed, so they count in Frees, but are not
	// yet reusable.
	quarantined := p.debugHeldLocked()
	st := Stats{
		Name:         p.owner.name,
		Type:         p.owner.typeName,
		Live:         int64(p.assigned - cached - p.retired - p.heldLocked()),
		Frees:        frees + p.slowFrees + scopeFrees + uint64(quarantined),
		Capacity:     int64(p.capacity),
		Bytes:        int64(p.capacity) * int64(p.size),
		Scoped:       int64(scoped),
		Cached:       int64(cached),
		ScopeFree:    int64(scopeFree),
		HighWater:    int64(p.highWater),
		Retired:      int64(p.retired),
		Trimmed:      p.trimmed,
		TrimmedBytes: p.trimmedBytes,
		MaxObjects:   p.bound,
		Exhausted:    p.refused.Load(),
	}
	if debugMode {
		st.GuardFallbacks = p.debugGuardFallbacks()
	} else if p.sample != nil {
		st.GuardFallbacks = p.sample.fallbacks.Load()
	}
	for _, s := range p.slabs {
		if s != nil {
			st.Slabs++
		}
	}
	st.Allocs = st.Frees + uint64(st.Live)
	return st
}

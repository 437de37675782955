package slab

// Trim hands every empty slab back to the garbage collector. It first empties
// the per-P caches into the slabs, so a slab whose slots are all free is
// released even if some of them sat in caches.
//
// Trim stops the world briefly (tens of microseconds) to know that no
// goroutine is inside a cache operation; Alloc and Free that run meanwhile go
// to the slabs directly and wait for no one. Call it after a burst, or leave
// it to the automatic policy (see WithIdleTrim), which releases slabs that
// stayed empty through two GC cycles without stopping the world.
//
// A pointer into a released slab is foreign: Free panics with ErrForeign.
func (p *Pool[T]) Trim() {
	if debugMode {
		p.debugFlushQuarantine("Trim") // its slots would keep their slabs
	}
	p.drainCaches()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.collectInboxesLocked()
	p.discardIdleLocked(0)
}

// onGC runs the automatic trimming policy once per GC cycle, on the
// clock's goroutine (see gcTick, gcclock.go):
//   - a slab that stayed empty through WithIdleTrim whole cycles is
//     released;
//   - a pool that saw no Alloc or Free at all through WithIdleTrim cycles
//     has its per-P caches drained first, so that free slots parked in the
//     caches of idle Ps do not keep a burst's slabs alive. This stops the
//     world once per idle period, not once per cycle.
//
// It skips a cycle rather than wait for the pool's locks, so that a busy
// pool holds up neither the clock nor the other pools. (In debug builds the
// quarantine's flush takes mu, which no one holds for long.)
func (p *Pool[T]) onGC() {
	if p.cfg.idleGCs == 0 {
		return
	}
	frees, inboxed, cacheHeld := p.cacheCounts()
	cached := cacheHeld + inboxed
	if !p.mu.TryLock() {
		return
	}
	p.collectInboxesLocked()
	// Every Alloc changes assigned or cached, every Free changes frees
	// (or, in debug builds, the quarantine: heldLocked).
	held := p.heldLocked()
	_, _, scopeFrees := p.sc.countsLocked()
	activity := [3]uint64{frees + p.slowFrees + scopeFrees + uint64(held), uint64(p.assigned), uint64(cached)}
	if activity == p.lastActivity {
		p.idleCycles++
	} else {
		p.idleCycles = 0
		p.lastActivity = activity
	}
	drain := (cached > 0 || held > 0) && p.idleCycles >= p.cfg.idleGCs
	for _, s := range p.slabs {
		if s != nil && s.nalloc == 0 {
			s.idleGCs++
		}
	}
	// A slab found empty at n+1 successive collections has stayed empty
	// through n whole cycles.
	p.discardIdleLocked(p.cfg.idleGCs + 1)
	p.mu.Unlock()

	if drain {
		if debugMode {
			p.debugFlushQuarantine("the automatic trim")
		}
		if !p.tryDrainCaches() {
			return
		}
		if p.mu.TryLock() {
			p.discardIdleLocked(0)
			p.mu.Unlock()
		}
	}
}

// discardIdleLocked hands the empty slabs that have been idle for at least
// minIdle GC cycles back to the GC (discardSlabLocked).
func (p *Pool[T]) discardIdleLocked(minIdle int) {
	for _, s := range p.slabs {
		if s != nil && s.nalloc == 0 && s.idleGCs >= minIdle {
			if debugMode {
				p.debugTrimmedLocked(s) // for reports on stale pointers into it
			}
			p.discardSlabLocked(s)
		}
	}
}

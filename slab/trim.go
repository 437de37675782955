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
	p.drainCaches()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.releaseEmptyLocked(0)
}

// OnGC ages empty slabs once per GC cycle and releases those that stayed
// empty through WithIdleTrim cycles. It runs on the runtime's cleanup
// goroutine and skips a cycle rather than wait for the pool's lock.
func (p *Pool[T]) OnGC() {
	if p.cfg.idleGCs == 0 || !p.mu.TryLock() {
		return
	}
	defer p.mu.Unlock()
	for _, s := range *p.table.Load() {
		if s != nil && s.nalloc == 0 {
			s.idleGCs++
		}
	}
	p.releaseEmptyLocked(p.cfg.idleGCs)
}

// releaseEmptyLocked releases the empty spans that have been idle for at
// least minIdle GC cycles.
func (p *Pool[T]) releaseEmptyLocked(minIdle int) {
	for _, s := range *p.table.Load() {
		if s != nil && s.nalloc == 0 && s.idleGCs >= minIdle {
			p.releaseLocked(s)
		}
	}
}

package slab

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/slabtrack/slabtrack/internal/registry"
)

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

// The automatic trim's clock: a sentinel object, allocated and dropped
// once per GC cycle, whose cleanup runs after the cycle that collected it.
// The cleanup only counts the cycle, drops the next sentinel and starts the
// clock's goroutine unless it is running: the work (visiting every live pool
// through internal/registry, which holds them weakly, and running the hooks
// of onEveryGC) runs there, not on the runtime's cleanup goroutine, which
// the process's other cleanups share and which the work could otherwise hold
// up (a drain stops the world; a debug build's report calls the program's
// handler). The goroutine exits when it has caught up with the cycles. One
// clock serves the process: New starts it, and it runs while the program
// runs, at the cost of one small object per cycle.
var gcTick struct {
	started atomic.Bool
	// cycles counts the cycles the sentinels saw; worked is cycles as the
	// clock's goroutine last read it before visiting the pools.
	cycles, worked atomic.Uint64
	// running is set while the clock's goroutine runs.
	running atomic.Bool
	mu      sync.Mutex
	hooks   []func() // guarded by mu
}

// gcSentinel is the clock's object. It holds a pointer so that the
// allocator does not batch it with other tiny objects, which would delay
// its collection.
type gcSentinel struct {
	_ *int
	_ [8]byte
}

// gcTicker is a registered pool that trims itself on the clock (tracked).
type gcTicker interface{ onGC() }

// startGCTick starts the clock, once.
func startGCTick() {
	if gcTick.started.CompareAndSwap(false, true) {
		armGCTick()
	}
}

// onEveryGC runs f once after each garbage collection, on the clock's
// goroutine, after the pools' onGC; it starts the clock if no pool has. f
// must not block: it would hold up the clock. Cycles that end while the
// clock's goroutine is busy are handled together, by one more visit.
func onEveryGC(f func()) {
	gcTick.mu.Lock()
	gcTick.hooks = append(gcTick.hooks, f)
	gcTick.mu.Unlock()
	startGCTick()
}

func armGCTick() { runtime.AddCleanup(new(gcSentinel), gcTicked, 0) }

// gcTicked is the sentinel's cleanup. It does nothing that can block.
func gcTicked(int) {
	gcTick.cycles.Add(1)
	armGCTick()
	if gcTick.running.CompareAndSwap(false, true) {
		go runGCTicks()
	}
}

// runGCTicks visits the pools until it has seen every cycle counted so far.
// If a hook or a pool's trim ends the goroutine (runtime.Goexit, as a test's
// violation handler calling t.FailNow does), the deferred hand-over still
// lets the next cycle start a new one; a panic ends the program, as it would
// anywhere.
func runGCTicks() {
	defer gcTickDone()
	for {
		seen := gcTick.cycles.Load()
		gcTick.worked.Store(seen)
		registry.Each(func(p registry.Pool) {
			if t, ok := p.(gcTicker); ok {
				t.onGC()
			}
		})
		gcTick.mu.Lock()
		hooks := gcTick.hooks
		gcTick.mu.Unlock()
		for _, f := range hooks {
			f()
		}
		if gcTick.cycles.Load() == seen {
			return
		}
	}
}

// gcTickDone ends the clock's goroutine. A cycle counted after the last
// visit began, whose cleanup saw the goroutine still running, starts the
// goroutine again.
func gcTickDone() {
	gcTick.running.Store(false)
	if gcTick.cycles.Load() != gcTick.worked.Load() && gcTick.running.CompareAndSwap(false, true) {
		go runGCTicks()
	}
}

// onGC runs the automatic trimming policy once per GC cycle, on the
// clock's goroutine (see gcTick):
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
	for _, s := range p.spans {
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

// discardIdleLocked hands the empty spans that have been idle for at least
// minIdle GC cycles back to the GC (discardSpanLocked).
func (p *Pool[T]) discardIdleLocked(minIdle int) {
	for _, s := range p.spans {
		if s != nil && s.nalloc == 0 && s.idleGCs >= minIdle {
			if debugMode {
				p.debugReleasedLocked(s) // for reports on stale pointers into it
			}
			p.discardSpanLocked(s)
		}
	}
}

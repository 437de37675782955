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

// The automatic trim's clock. Two sentinel objects, each allocated and
// dropped once per GC cycle, tell it that a cycle has ended: one through a
// cleanup (runtime.AddCleanup), one through a finalizer (runtime.SetFinalizer),
// each dropping its successor when it runs. Either one suffices; there are
// two because each can be held up apart from the other. Cleanups run on the
// runtime's cleanup goroutines, which any cleanup of the program can block,
// and a cleanup that the sweeper queued on a P is not run while that P is
// gone: lowering GOMAXPROCS (as Go does by itself when a container's CPU
// limit falls) can leave it unrun until the P comes back (seen with Go
// 1.26). Finalizers go through one process-wide queue and run on the
// finalizer goroutine, which a blocking finalizer holds up.
//
// A sentinel's function counts the cycle (once, if both report it: see
// gcTicked) and starts the clock's goroutine unless it is running. The work
// (visiting every live pool through internal/registry, which holds them
// weakly, and running the hooks of onEveryGC) runs on that goroutine, not on
// the runtime's: a drain stops the world, and a debug build's report calls
// the program's handler. The goroutine exits when it has caught up with the
// cycles. One clock serves the process: New starts it, and it runs while the
// program runs, at the cost of two small objects per cycle.
var gcTick struct {
	started atomic.Bool
	// cycle counts the GC cycles that the sentinels reported; worked is
	// cycle as the clock's goroutine last read it before visiting the
	// pools.
	cycle, worked atomic.Uint64
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
		armCleanupSentinel()
		armFinalizerSentinel()
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

// A sentinelChain is one kind of sentinel: the cycles it has reported, and
// its state: running, or, for tests that run the clock on the other kind
// alone, asked to stop (the next sentinel drops no successor) and stopped.
type sentinelChain struct {
	cycles atomic.Uint64
	state  atomic.Int32
}

const (
	chainRunning int32 = iota
	chainStopping
	chainStopped
)

// next reports whether the sentinel that is running should drop its
// successor.
func (c *sentinelChain) next() bool {
	if c.state.CompareAndSwap(chainStopping, chainStopped) {
		return false
	}
	return c.state.Load() == chainRunning
}

var cleanupChain, finalizerChain sentinelChain

func armCleanupSentinel() { runtime.AddCleanup(new(gcSentinel), cleanupTicked, 0) }

func cleanupTicked(int) {
	if cleanupChain.next() {
		armCleanupSentinel()
	}
	gcTicked(&cleanupChain)
}

func armFinalizerSentinel() { runtime.SetFinalizer(new(gcSentinel), finalizerTicked) }

func finalizerTicked(*gcSentinel) {
	if finalizerChain.next() {
		armFinalizerSentinel()
	}
	gcTicked(&finalizerChain)
}

// gcTicked records that a cycle has ended, as the chain c reports, and
// starts the clock's goroutine unless it is running. Each chain reports each
// cycle once, so the clock counts the cycles of the chain that has reported
// more: a cycle that both report is counted once, and one whose report is
// held up on one chain is counted by the other. A chain that is behind
// catches up, so that it counts from the next cycle on if the other is held
// up in turn. It does nothing that can block.
func gcTicked(c *sentinelChain) {
	n := c.cycles.Add(1) // only c's one sentinel at a time writes c.cycles
	for {
		old := gcTick.cycle.Load()
		if n <= old {
			c.cycles.Store(old) // the other chain reported this cycle
			return
		}
		if gcTick.cycle.CompareAndSwap(old, n) {
			break
		}
	}
	if gcTick.running.CompareAndSwap(false, true) {
		go runGCTicks()
	}
}

// runGCTicks visits the pools until it has seen every cycle reported so far.
// If a hook or a pool's trim ends the goroutine (runtime.Goexit, as a test's
// violation handler calling t.FailNow does), the deferred hand-over still
// lets the next cycle start a new one; a panic ends the program, as it would
// anywhere.
func runGCTicks() {
	defer gcTickDone()
	for {
		seen := gcTick.cycle.Load()
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
		if gcTick.cycle.Load() == seen {
			return
		}
	}
}

// gcTickDone ends the clock's goroutine. A cycle reported after the last
// visit began, whose sentinel saw the goroutine still running, starts the
// goroutine again.
func gcTickDone() {
	gcTick.running.Store(false)
	if gcTick.cycle.Load() != gcTick.worked.Load() && gcTick.running.CompareAndSwap(false, true) {
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

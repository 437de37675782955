package slab

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/slabtrack/slabtrack/internal/registry"
)

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

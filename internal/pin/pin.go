// Package pin gives the slab allocator a per-P identity: the index of the
// processor (P) that runs the calling goroutine, held until Unpin.
//
// While a goroutine is pinned it cannot be preempted, so state indexed by the
// returned id is touched by no other goroutine until Unpin. This is the
// mechanism sync.Pool uses for its per-P locals. A pinned goroutine must not
// block: no channel operations, no sync.Mutex, no allocation that may wait.
package pin

import (
	"runtime"
	_ "unsafe" // for go:linkname
)

// Pin pins the calling goroutine to its P and returns the P's id, in
// [0, GOMAXPROCS). Every Pin must be followed by Unpin.
//
//go:linkname Pin runtime.procPin
func Pin() int

// Unpin ends the pinned section begun by Pin.
//
//go:linkname Unpin runtime.procUnpin
func Unpin()

// Quiesce returns once every pinned section that had begun before the call
// has ended, and makes the memory writes of those sections visible to the
// caller.
//
// It stops the world: a stop-the-world cannot complete while any goroutine is
// pinned, because a pinned goroutine is not preemptible. runtime.ReadMemStats
// is the cheapest exported call that stops the world (tens of microseconds).
// Callers use it on rare administrative paths only, never per operation.
// TestQuiesceWaitsForPinnedSection fails if a runtime change breaks this.
func Quiesce() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
}

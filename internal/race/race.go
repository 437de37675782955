//go:build race

// Package race wraps the race detector's annotations so that the allocator
// can describe its hand-offs of slots between goroutines. Without -race every
// function is an empty, inlined no-op.
package race

import (
	"runtime"
	"unsafe"
)

// Enabled reports whether the binary was built with -race.
const Enabled = true

// Acquire establishes a happens-before edge from every ReleaseMerge on addr.
func Acquire(addr unsafe.Pointer) { runtime.RaceAcquire(addr) }

// ReleaseMerge records a release on addr that a later Acquire synchronises with.
func ReleaseMerge(addr unsafe.Pointer) { runtime.RaceReleaseMerge(addr) }

// WriteRange records a write of n bytes at addr by the calling goroutine.
func WriteRange(addr unsafe.Pointer, n int) { runtime.RaceWriteRange(addr, n) }

//go:build slabdebug

package slab

import (
	"io"

	"github.com/slabtrack/slabtrack/internal/fault"
	"github.com/slabtrack/slabtrack/internal/guard"
)

// LimitGuardBudget lowers the kernel-mapping budget of guard pages to n
// mappings above those in use, with the line the budget writes when it is
// spent silenced, and returns a function that restores both.
func LimitGuardBudget(n int) (restore func()) {
	unlimit := guard.LimitBudget(guard.Budget().Used + n)
	unsilence := guard.SetLog(io.Discard)
	return func() { unsilence(); unlimit() }
}

// Guarded reports whether p's objects are on guard pages.
func Guarded[T any](p *Pool[T]) bool { return p.dbg.guarded }

// FaultRegion returns the bounds of the address region that freed objects'
// reference words point into, reserving it if need be.
func FaultRegion() (lo, hi uintptr) {
	fault.Available()
	return fault.Bounds()
}

// SetTestHookFreeing sets a function that every debug Free of a slot runs
// after winning the slot's state and before finishing; nil removes it.
// It must not be called while a Free may be running.
func SetTestHookFreeing(f func()) { testHookFreeing = f }

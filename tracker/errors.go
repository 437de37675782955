package tracker

import "github.com/slabtrack/slabtrack/internal/errs"

// The sentinel errors of the violations that package slab has no error for.
// The others match slab's: errors.Is(v, slab.ErrDoubleFree).
var (
	// ErrWriteAfterFree is matched by violations of kind WriteAfterFree.
	ErrWriteAfterFree = errs.WriteAfterFree
	// ErrLeak is matched by leak reports (Find) and by violations of kind
	// Dropped.
	ErrLeak = errs.Leak
	// ErrUseAfterFree is matched by violations of kind UseAfterFree.
	ErrUseAfterFree = errs.UseAfterFree
)

package tracker

import "github.com/slabtrack/slabtrack/internal/errs"

// The sentinel errors of the violations that package slab has no error for.
// The others match slab's: errors.Is(v, slab.ErrDoubleFree). Each doc
// comment quotes the sentinel's message.
var (
	// ErrWriteAfterFree is matched by violations of kind WriteAfterFree.
	// Its message is "slab: write after free".
	ErrWriteAfterFree = errs.WriteAfterFree
	// ErrLeak is matched by leak reports (Find) and by violations of kind
	// Dropped. Its message is "slab: leak".
	ErrLeak = errs.Leak
	// ErrUseAfterFree is matched by violations of kind UseAfterFree. Its
	// message is "slab: use after free".
	ErrUseAfterFree = errs.UseAfterFree
)

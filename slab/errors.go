package slab

import (
	"fmt"

	"github.com/slabtrack/slabtrack/internal/errs"
)

// The sentinel errors. Panics and returned errors wrap them, so callers test
// with errors.Is. Their messages start with "slab:".
var (
	// ErrDoubleFree is wrapped by the panic of Free (or FreeRef) on an object
	// that is already free.
	ErrDoubleFree = errs.DoubleFree
	// ErrForeign is wrapped by the panic of Free on a pointer the pool did not
	// allocate: a new(T), a pointer from another pool, a pointer into the
	// middle of a slot, or a pointer into a slab that Trim released.
	ErrForeign = errs.Foreign
	// ErrExhausted is wrapped by the error of TryAlloc on a bounded pool whose
	// live objects number as many as its bound, and by the panic of Alloc in
	// the same state.
	ErrExhausted = errs.Exhausted
	// ErrStaleRef is wrapped by the panic of Get or FreeRef on a Ref whose
	// object has been freed since the Ref was issued, and on the zero Ref.
	ErrStaleRef = errs.StaleRef
	// ErrScoped is wrapped by the panic of Free on an object that was
	// allocated in a Scope: Scope.Release frees it.
	ErrScoped = errs.Scoped
	// ErrReleased is wrapped by the panic of AllocIn and TryAllocIn with a
	// nil *Scope, such as ScopeFrom returns for a context without a scope,
	// and of every use of a scope after its ScopePool took it back
	// (ScopePool.Put). AllocIn after Release and a second Release do not
	// panic: a released scope is empty and may be used again by its owner.
	ErrReleased = errs.Released
	// ErrScopeBusy is wrapped by the panic of debug builds when two
	// goroutines use one scope at once.
	ErrScopeBusy = errs.ScopeBusy
)

// slotError is the error of a broken condition on one slot. Its message reads
// "slab: double free of *main.Order (pool "orders", slot 17)".
func slotError(sentinel error, typeName, pool string, slot int) error {
	return fmt.Errorf("%w of %s (pool %q, slot %d)", sentinel, typeName, pool, slot)
}

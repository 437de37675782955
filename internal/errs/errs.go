// Package errs holds the sentinel errors shared by slab, which raises them,
// and tracker, whose reports must match them with errors.Is.
package errs

import "errors"

var (
	// DoubleFree: a slot was freed while it was already free.
	DoubleFree = errors.New("slab: double free")
	// Foreign: a pointer or Ref the pool did not allocate.
	Foreign = errors.New("slab: free of memory the pool does not own")
	// Exhausted: a bounded pool has as many live objects as its bound.
	Exhausted = errors.New("slab: pool exhausted")
	// StaleRef: a Ref whose object has been freed since it was issued.
	StaleRef = errors.New("slab: stale reference")
	// Scoped: an object allocated in a Scope was passed to Pool.Free.
	Scoped = errors.New("slab: object belongs to a scope")
	// Released: a nil Scope, or one whose ScopePool took it back.
	Released = errors.New("slab: no scope, or a scope already given back")
	// ScopeBusy: two goroutines used one Scope at once.
	ScopeBusy = errors.New("slab: concurrent use of one scope")
	// WriteAfterFree: a freed object was written to before reuse.
	WriteAfterFree = errors.New("slab: write after free")
	// Leak: objects were still allocated when none should be.
	Leak = errors.New("slab: leak")
	// UseAfterFree: a freed object was read or written, and the access
	// faulted: through a poisoned reference word, or on a guard page.
	UseAfterFree = errors.New("slab: use after free")
)

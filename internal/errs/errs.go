// Package errs holds the sentinel errors shared by slab, which raises them,
// and tracker, whose reports must match them with errors.Is.
package errs

import "errors"

var (
	// DoubleFree: a slot was freed while it was not allocated: freed
	// already, or never allocated (release builds cannot tell the two
	// apart).
	DoubleFree = errors.New("slab: double free")
	// Foreign: a pointer the pool did not allocate, passed to Free or RefOf.
	Foreign = errors.New("slab: pointer the pool does not own")
	// Exhausted: a bounded pool has as many live objects as its bound.
	Exhausted = errors.New("slab: pool exhausted")
	// StaleRef: a Ref whose object has been freed since it was issued.
	StaleRef = errors.New("slab: stale reference")
	// Scoped: an object allocated in a Scope was passed to Pool.Free.
	Scoped = errors.New("slab: object belongs to a scope")
	// Released: a nil *Scope, or one whose ScopePool took it back.
	Released = errors.New("slab: invalid scope")
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

// Error is an error about one broken condition that matches a sentinel
// with errors.Is but words its own message, for conditions that the
// sentinel's text would misname: a RefOf is not a free, and a slot that
// was never allocated was not freed twice.
type Error struct {
	Sentinel error
	Msg      string
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the sentinel, so that errors.Is matches it.
func (e *Error) Unwrap() error { return e.Sentinel }

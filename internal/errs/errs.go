// Package errs holds the sentinel errors that package slab exports (as
// ErrDoubleFree and so on) and package tracker exports (ErrWriteAfterFree,
// ErrLeak, ErrUseAfterFree). They live here, below both, because slab
// raises all of them in debug builds and internal/violation matches them
// with errors.Is; the conditions each stands for are documented where they
// are exported, with each message, which a test holds to these values.
package errs

import "errors"

// The sentinels, by the name they are exported with, less its Err prefix.
var (
	DoubleFree     = errors.New("slab: double free")
	Foreign        = errors.New("slab: pointer the pool does not own")
	Exhausted      = errors.New("slab: pool exhausted")
	StaleRef       = errors.New("slab: stale reference")
	Scoped         = errors.New("slab: object belongs to a scope")
	InvalidScope   = errors.New("slab: invalid scope")
	NilScope       = errors.New("slab: nil scope")
	ScopeBusy      = errors.New("slab: concurrent use of one scope")
	ScopeLimit     = errors.New("slab: scope memory limit reached")
	ResetPanicked  = errors.New("slab: reset function panicked")
	WriteAfterFree = errors.New("slab: write after free")
	Leak           = errors.New("slab: leak")
	UseAfterFree   = errors.New("slab: use after free")
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

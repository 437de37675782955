// Package scopeapi lends package slab's scope operations to the packages
// beneath slab/ that allocate in a scope on their own terms: slabjson's
// decoder enters a scope once per call and allocates values of types it
// knows only at run time. These operations are not API: package slab sets
// the functions at init, and a *slab.Scope, the state a call has entered
// and an element type travel as unsafe.Pointer, since this package cannot
// import slab.
package scopeapi

import (
	"reflect"
	"unsafe"
)

var (
	// Enter begins an operation on the *slab.Scope s, as slab's own calls
	// do, and returns the scope's state, which the caller alone uses until
	// Exit. It panics as they do for a nil scope, one its ScopePool took
	// back, and one another goroutine is using.
	Enter func(s unsafe.Pointer) (st unsafe.Pointer)
	// Exit ends the operation Enter began.
	Exit func(s, st unsafe.Pointer)
	// ElemType returns the handle of t for Alloc.
	ElemType func(t reflect.Type) unsafe.Pointer
	// Alloc returns zeroed memory for n values of the element type et in
	// the entered state st, or nil if the scope's limit refuses the memory
	// it would take.
	Alloc func(st, et unsafe.Pointer, n int) unsafe.Pointer
	// MakeMap returns an empty map of the map type t owned by st, with
	// room for hint entries, or nil if the scope's limit refuses them.
	MakeMap func(st unsafe.Pointer, t reflect.Type, hint int) any
	// Take counts n bytes of memory that st's caller took on the scope's
	// behalf, and reports whether the scope's limit allows them.
	Take func(st unsafe.Pointer, n uintptr) bool
	// LimitError is the error of an allocation of n bytes of what, which
	// the limit of st refused; it wraps slab.ErrScopeLimit.
	LimitError func(st unsafe.Pointer, what string, n uintptr) error
)

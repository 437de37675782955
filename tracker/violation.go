package tracker

import "github.com/slabtrack/slabtrack/internal/violation"

// A Violation is a misuse of a pool that debug builds detected, with the
// places that led to it: where the object was allocated, where it was
// freed, and the call that misused it. Its Error method formats it like an
// AddressSanitizer report (see the package documentation); errors.Is(v,
// slab.ErrDoubleFree) and the like hold for its Kind, and Unwrap returns
// Err.
//
// Violations are handed to the ViolationHandler (see SetHandler); by
// default they are panicked with. Leak reports (Find) are Violations of
// kind Leak whose Sites group the leaked objects by allocation stack.
//
// Its fields:
//
//	Kind        Kind           what was done wrong (see the Kind constants)
//	Pool        string         the pool's name (slab.WithName)
//	Type        string         the type of the pool's objects, *T, such as "*main.Order"
//	Slot        int            the slot in the pool; -1 if Addr is in no slot of it
//	Addr        uintptr        the object's address; 0 for a Ref or a leak report
//	Detail      string         one sentence on the state found
//	Owner       string         the pool that owns Addr, for a ForeignFree
//	Field       string         the field written after free ("Order.Lines[2].Qty"), or
//	                           the poisoned field a use after free went through
//	Offset      uintptr        the offset in the object of Field's first byte
//	Want, Got   []byte         WriteAfterFree: the field's expected and found bytes
//	FaultAddr   uintptr        UseAfterFree: the address whose access faulted
//	Target      string         UseAfterFree: what the program reached through Field,
//	                           such as "Customer.Name" or "Items[37]"
//	Guarded     bool           UseAfterFree: the object sat on a guard page and the
//	                           access was of the object itself, at Offset
//	Reused      bool           UseAfterFree: the slot was allocated again since; the
//	                           program kept a copy of a poisoned field
//	Op          string         the call that committed it or found it: "Free", "FreeRef",
//	                           "RefOf", "Deref", "Alloc", "Check", "Trim"
//	Alloc       Stack          where the object was allocated
//	Free        Stack          where it was freed
//	Call        Stack          the call that misused it
//	AllocAge    time.Duration  the age of the allocation, from the instant of the report
//	FreeAge     time.Duration  the age of the Free, from the same instant
//	Sites       []Site         a Leak report's objects, by allocation stack
//	Err         error          what the call panics with in default builds, worded with
//	                           what the debug build knows; nil for writes after free,
//	                           dropped objects and leaks
//
// Its methods are Error (the report), Unwrap (Err) and Is (errors.Is
// matches the sentinel error of its Kind, such as slab.ErrDoubleFree).
//
// Violation is an alias because package slab, which tracker imports,
// makes them: the two share one definition.
type Violation = violation.Violation

// A Site is a group of leaked or live objects of one pool that share an
// allocation stack: Pool, Type, Objects and Bytes count them, Stack is
// where they were allocated (nil in default builds, which record no
// stacks), MinAge and MaxAge bound their ages, and Dropped is set for
// objects that the garbage collector found unreachable without Free (drop
// detection) rather than still allocated.
type Site = violation.Site

// A Stack is a symbolised call stack, innermost call first
// ([]runtime.Frame). Stacks in reports start at the user's call: frames
// inside slabtrack are left out. Its Has method reports whether a frame is
// in a function whose name ends with a given name (such as "allocOrder" or
// "main.(*Server).handle"); String formats it one frame a line, and it
// marshals to JSON as an array of "function file:line" strings.
type Stack = violation.Stack

// Kind classifies a Violation. Its String method returns the kind as it
// appears on a report's SUMMARY line, such as "double-free".
type Kind = violation.Kind

// The kinds of violation. Each matches the sentinel error that default
// builds panic with for it, with errors.Is (see Violation.Is).
const (
	// DoubleFree: Free (or FreeRef) of an object that is already free, in
	// quarantine, in a per-P cache, or being freed by another goroutine.
	// Matches slab.ErrDoubleFree.
	DoubleFree Kind = violation.DoubleFree
	// ForeignFree: Free of a pointer the pool did not allocate: a new(T),
	// an object of another pool, a pointer into the middle of a slot, or a
	// slab released by Trim. Matches slab.ErrForeign.
	ForeignFree Kind = violation.ForeignFree
	// ScopedFree: Free of an object allocated with AllocIn, which only
	// Scope.Release may free. Matches slab.ErrScoped.
	ScopedFree Kind = violation.ScopedFree
	// WriteAfterFree: a freed object was written to: its poison (or its
	// zeroes, once out of quarantine) changed. The call that finds it did
	// not commit it. Matches ErrWriteAfterFree.
	WriteAfterFree Kind = violation.WriteAfterFree
	// StaleRef: use of a Ref whose object was freed, of the zero Ref, or of
	// another pool's Ref. Matches slab.ErrStaleRef.
	StaleRef Kind = violation.StaleRef
	// Leak: objects still allocated when Find looked. Matches ErrLeak.
	Leak Kind = violation.Leak
	// Dropped: an object became unreachable without Free (drop detection,
	// see Settings.DropCheck). Matches ErrLeak.
	Dropped Kind = violation.Dropped
	// Unallocated: Free or RefOf of a pointer to a slot that the pool has
	// never allocated since the slot's slab was made. Default builds
	// cannot tell it from a double free and panic with slab.ErrDoubleFree,
	// which it matches.
	Unallocated Kind = violation.Unallocated
	// RefOfFreed: RefOf of an object that was freed. Default builds
	// panic with slab.ErrDoubleFree, which it matches.
	RefOfFreed Kind = violation.RefOfFreed
	// ForeignPointer: RefOf of a pointer the pool did not allocate.
	// Matches slab.ErrForeign.
	ForeignPointer Kind = violation.ForeignPointer
	// ScopedRef: RefOf of an object allocated with AllocIn. Matches
	// slab.ErrScoped.
	ScopedRef Kind = violation.ScopedRef
	// UseAfterFree: the program read a reference field of a freed object,
	// which Free had poisoned, and dereferenced it; or it read or wrote a
	// freed object kept on a guard page. The access faulted, and the
	// report names the line that made it (see CatchFaults). Matches
	// ErrUseAfterFree.
	UseAfterFree Kind = violation.UseAfterFree
)

// Kinds returns every Kind, in the order of the constants above: the
// label values a metrics exporter reports a count of, 0 until the first
// violation of the kind, so that a rate over the count starts from zero.
func Kinds() []Kind { return violation.Kinds() }

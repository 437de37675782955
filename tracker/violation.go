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
// Its fields, each documented with the type's definition (go doc
// github.com/slabtrack/slabtrack/internal/violation.Violation):
//   - Kind, Pool, Type ("*main.Order"), Slot (-1 if the address is in no
//     slot of the pool) and Addr name the misuse and the object;
//   - Detail is one sentence on the state found, and Owner the pool that
//     owns Addr, for a ForeignFree;
//   - Field, Offset, Want and Got describe a WriteAfterFree: the field
//     that changed and its expected and found bytes;
//   - FaultAddr, Target, Guarded and Reused describe a UseAfterFree;
//   - Op names the call that committed the violation, or that found a
//     write after free ("Free", "FreeRef", "RefOf", "Get", "Alloc",
//     "Check", "Trim");
//   - Alloc, Free and Call are the stacks of the allocation, the Free and
//     that call, and AllocAge and FreeAge the ages of the first two, from
//     one instant;
//   - Sites groups the objects of a Leak report;
//   - Err is the error the call panics with in release builds, worded
//     with what the debug build knows; nil for writes after free, dropped
//     objects and leaks.
type Violation = violation.Violation

// A Site is a group of leaked or live objects of one pool that share an
// allocation stack: Pool, Type, Objects and Bytes count them, Stack is
// where they were allocated (nil in release builds, which record no
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

// The kinds of violation. Each matches the sentinel error that release
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
	// never allocated since the slot's slab was made. Release builds
	// cannot tell it from a double free and panic with slab.ErrDoubleFree,
	// which it matches.
	Unallocated Kind = violation.Unallocated
	// RefOfFreed: RefOf of an object that was freed. Release builds
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

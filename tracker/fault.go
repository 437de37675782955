package tracker

import (
	"github.com/slabtrack/slabtrack/internal/fault"
	"github.com/slabtrack/slabtrack/internal/faultreport"
)

// PanicOnFault makes a fault of the calling goroutine at a non-nil address
// a panic that CatchFaults can recover and report, instead of a crash. It
// is runtime/debug.SetPanicOnFault(true): the setting is the goroutine's
// and lasts until it exits. Debug builds' pools call it at every Alloc and
// Free, so goroutines that allocate or free already have it; call it at the
// top of other goroutines that may read freed objects. It costs a few
// nanoseconds.
//
// With it, a fault that no deferred call recovers is a panic, "invalid
// memory address or nil pointer dereference" with the fault's addr=,
// rather than a fatal "unexpected fault address": the program still stops
// at the access, unless a generic recover swallows the panic.
func PanicOnFault() { fault.PanicOnFault() }

// CatchFaults turns a fault on a freed object into a report. Defer it at the
// top of a goroutine that may read freed objects:
//
//	go func() {
//		tracker.PanicOnFault()
//		defer tracker.CatchFaults()
//		...
//	}()
//
// When the goroutine panics because it read a reference field of a freed
// object and dereferenced it, or touched a freed object on a guard page,
// CatchFaults recovers the fault, builds a *Violation of kind UseAfterFree
// with the stack of the access, and of the object's Free and allocation,
// hands it to the ViolationHandler if one is set (see SetHandler), and panics with
// it: the goroutine cannot continue past the access. Any other panic is
// panicked again unchanged (Go then prints it as "[recovered, repanicked]"
// with the stack of the original panic). It must be deferred directly:
// recover works only there.
//
// VerifyNone and VerifyTestMain do the same for tests.
func CatchFaults() {
	if r := recover(); r != nil {
		faultreport.Repanic(r)
	}
}

// DescribeAddr returns the report of a fault at addr, without the stack of
// the access, or nil if addr is not an address slabtrack gave a freed
// object: a poisoned reference word's (it lies in the fault region, which
// starts at 0x6b6b00000000 where the kernel allows) or a guard page's.
//
// A fault that no CatchFaults recovered crashes the program with
//
//	unexpected fault address 0x6b6b0004a010
//	fatal error: fault
//	[signal SIGSEGV: segmentation violation code=0x2 addr=0x6b6b0004a010 pc=0x4a2b3c]
//
// followed by the stack of the access (or, under PanicOnFault, with a
// panic "invalid memory address or nil pointer dereference" and the same
// addr=). The record of which object an address names lives in the
// process, so DescribeAddr can only decode addresses of its own process: in
// a recover of the program's own, or from a debugger stopped at the fault
// (dlv: call tracker.DescribeAddr(0x6b6b0004a010)). After a crash, the
// address says only that the program read a freed object through a
// reference field: rerun with CatchFaults at the top of the goroutine.
func DescribeAddr(addr uintptr) *Violation { return faultreport.Describe(addr) }

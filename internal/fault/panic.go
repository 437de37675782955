package fault

import (
	"runtime"
	"runtime/debug"
)

// PanicOnFault makes a fault of the calling goroutine at a non-nil address
// (a poisoned reference dereferenced, a guard page touched) a panic whose
// value has an Addr method, which a deferred function can recover and
// decode, instead of a fatal "unexpected fault address". The setting is the
// goroutine's, lasts until it exits, and costs a few nanoseconds to set
// (BenchmarkPanicOnFault): debug builds' pools set it at every Alloc and
// Free, so every goroutine that calls them has it.
func PanicOnFault() { debug.SetPanicOnFault(true) }

// Addr returns the fault address of a recovered panic value, if it is a
// runtime error raised by a fault under PanicOnFault.
func Addr(r any) (uintptr, bool) {
	e, ok := r.(interface {
		runtime.Error
		Addr() uintptr
	})
	if !ok {
		return 0, false
	}
	return e.Addr(), true
}

package slab

import (
	"reflect"
	"runtime"
	"strings"

	"github.com/slabtrack/slabtrack/internal/asan"
)

// Reset functions (WithReset) are the one place where a pool runs its
// user's code in the middle of its own work: Free and Scope.Release call
// them between taking an object and putting its slot back. A reset that
// panics must not lose the slot, leave the counts wrong or the slot half
// freed, so each path runs the reset under a deferred function that, if the
// reset did not return, zeroes the object with a typed store (as Free does
// without a reset), finishes the free, and only then panics again, with an
// error naming the reset function: no lock is held while a reset runs, and
// none while the panic starts (README, guarantee 5). runtime.Goexit in a
// reset (a t.FailNow, say) finishes the free the same way, then goes on.
//
// While its reset runs, a slot freed by Free is in stateResetting, and one
// released by its scope too: a Free of the object from inside the reset,
// or from another goroutine meanwhile, finds it neither live nor free and
// panics saying which (resetRunning tells them apart). A scope being
// released refuses every use until its Release ends (scopeState.release),
// so that a reset cannot allocate in the scope it is releasing.

// freeResetFailed ends free when the pool's reset function did not return:
// it zeroes x, gives slot r back and, if the reset panicked with failure
// (nil under runtime.Goexit, which goes on after this), panics again,
// naming the reset function.
func (p *Pool[T]) freeResetFailed(r slotRef[T], x *T, failure any) {
	var zero T
	*x = zero
	*r.st() = stateFree
	if asan.Enabled {
		p.asanFree(x) // as free does
	}
	if p.putFree(r) {
		p.racedFree(r) // a racing double free outranks what the reset did
	}
	if failure != nil {
		panic(p.resetError(failure, r, "Free"))
	}
}

// resetScoped runs the reset function on the object of slot r, which a
// scope's Release is freeing (the slot stays the scope's, in stateScoped),
// and returns what the reset panicked with, or nil. If the reset did not
// return, the object is zeroed.
func (p *Pool[T]) resetScoped(r slotRef[T]) (failure any) {
	st := r.st()
	*st = stateResetting
	x := r.ptr()
	returned := false
	defer func() {
		if !returned {
			failure = recover() // nil under runtime.Goexit, which ends the Release here (see WithReset)
			var zero T
			*x = zero
		}
		*st = stateScoped
	}()
	p.reset(x)
	returned = true
	return nil
}

// runReset runs the reset function on x and returns what it panicked with,
// or nil; if it did not return, x is zeroed. Under runtime.Goexit it does
// not return: callers that must finish a free then defer the rest.
//
//lint:ignore U1000 debug builds call it (finishFree); default builds' free runs the reset itself
func (p *Pool[T]) runReset(x *T) (failure any) {
	returned := false
	defer func() {
		if !returned {
			failure = recover()
			var zero T
			*x = zero
		}
	}()
	p.reset(x)
	returned = true
	return nil
}

// resetRunning reports whether the calling goroutine is inside a reset
// function that a pool called, and, if f is not nil, whether that function
// is f: whether a call that found an object being freed was made by the
// reset that the object's own Free runs, or by another goroutine. It reads
// the stack, so only error paths call it.
func resetRunning(f any) bool {
	want := ""
	if f != nil {
		fn := runtime.FuncForPC(reflect.ValueOf(f).Pointer())
		if fn == nil {
			return false
		}
		want = fn.Name()
	}
	var pcs [128]uintptr
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs[:])])
	callee := ""
	for {
		fr, more := frames.Next()
		if isResetRunner(fr.Function) && (want == "" || callee == want) {
			return true
		}
		callee = fr.Function
		if !more {
			return false
		}
	}
}

// isResetRunner reports whether the function named name is one of the
// pool's functions that call its reset function.
func isResetRunner(name string) bool {
	rest, ok := strings.CutPrefix(name, slabPackage+".(*Pool[")
	if !ok {
		return false
	}
	for _, m := range []string{").free", ").resetScoped", ").runReset"} {
		if strings.HasSuffix(rest, m) {
			return true
		}
	}
	return false
}

// slabPackage is this package's import path, as stack frames name it.
var slabPackage = reflect.TypeFor[op]().PkgPath()

package slab

import (
	"fmt"
	"os"
	"sync"

	"github.com/slabtrack/slabtrack/internal/errs"
)

// The sentinel errors. Panics and returned errors wrap them, so callers test
// with errors.Is. Each doc comment quotes the sentinel's message, which
// starts with "slab:"; the errors that wrap it add what was found.
var (
	// ErrDoubleFree is wrapped by the panic of Free (or FreeRef) of an
	// object that is already free, and of RefOf of one. Release builds
	// keep no history per slot, so it is also what they panic with for a
	// pointer to a slot that was never allocated (the message says so);
	// debug builds tell the two apart in their report. Its message is
	// "slab: double free".
	ErrDoubleFree = errs.DoubleFree
	// ErrForeign is wrapped by the panic of Free or RefOf on a pointer the
	// pool did not allocate: a new(T), a pointer from another pool, a
	// pointer into the middle of a slot, or a pointer into a slab released
	// by Trim. Its message is "slab: pointer the pool does not own".
	ErrForeign = errs.Foreign
	// ErrExhausted is wrapped by the error of TryAlloc on a bounded pool whose
	// live objects number as many as its bound, and by the panic of Alloc in
	// the same state; that error's message names the allocation sites of the
	// live objects in debug builds, and of the sampled ones in release
	// builds of a pool that samples (WithSampling). Its message is "slab:
	// pool exhausted".
	ErrExhausted = errs.Exhausted
	// ErrStaleRef is wrapped by the panic of Get or FreeRef on a Ref whose
	// object has been freed since the Ref was issued, and on the zero Ref.
	// Its message is "slab: stale reference".
	ErrStaleRef = errs.StaleRef
	// ErrScoped is wrapped by the panic of Free or RefOf on an object that
	// was allocated in a Scope: Scope.Release frees it. Its message is
	// "slab: object belongs to a scope".
	ErrScoped = errs.Scoped
	// ErrReleased is wrapped by the panic of every use of a scope after its
	// ScopePool took it back (ScopePool.Put), or while Put takes it back on
	// another goroutine, and of every use of a scope from a reset function
	// (WithReset) that the scope's Release or Put called. AllocIn after
	// Release and a second Release do not panic: a released scope is empty
	// and may be used again by its owner. Its message is "slab: invalid
	// scope".
	ErrReleased = errs.Released
	// ErrNilScope is wrapped by the panic of AllocIn, NewIn, MakeSliceIn,
	// AppendIn, StringIn, MakeMapIn, BuilderIn, slabjson.Unmarshal and
	// ScopePool.Put with a nil *Scope, such as ScopeFrom returns for a
	// context that carries no scope, and by the error TryAllocIn returns
	// for one. Its message is "slab: nil scope".
	ErrNilScope = errs.NilScope
	// ErrScopeBusy is wrapped by the panic of a call on a scope that finds
	// another goroutine's call in progress on it: a Scope is for one
	// goroutine at a time. Every build checks it; debug builds add where
	// the other call came from. Its message is "slab: concurrent use of one
	// scope".
	ErrScopeBusy = errs.ScopeBusy
	// ErrScopeLimit is wrapped by the panic of an allocating call in a scope
	// from a ScopePool with MaxBytes that has taken that much memory, and by
	// the error of TryAllocIn and of slabjson's decoding in that state. Its
	// message is "slab: scope memory limit reached".
	ErrScopeLimit = errs.ScopeLimit
	// ErrResetPanicked is wrapped by the panic of Free, FreeRef,
	// Scope.Release and ScopePool.Put when the pool's reset function
	// (WithReset) panicked on an object they were freeing. The panic
	// happens once the call is done: the object was zeroed instead and its
	// slot freed, and the error also wraps what the reset function panicked
	// with, if that was an error. Its message is "slab: reset function
	// panicked".
	ErrResetPanicked = errs.ResetPanicked
)

// reportInternal writes err, an internal error found where no caller can be
// told (the runtime's cleanup goroutine), to standard error.
func reportInternal(err error) {
	fmt.Fprintln(os.Stderr, err)
}

// An op is the call that found a broken condition, for its message: a RefOf
// of a freed object is not a free.
type op uint8

const (
	opFree op = iota
	opRefOf
)

func (o op) String() string {
	if o == opRefOf {
		return "RefOf"
	}
	return "Free"
}

// exhaustedError is the error of an allocation from a bounded pool whose
// live objects number as many as its bound. Where the build records where
// objects were allocated (debug builds, and release builds' sampling), the
// message names the sites that hold the most live objects; it is made when
// it is first read, so that a server that turns the error into a 503
// without printing it pays nothing for the scan.
type exhaustedError struct {
	op             string // the allocating call
	typeName, pool string
	bound          int64
	// sites describes the allocation sites of the live objects, one line
	// each, or returns "" if the build records none. Nil in release builds
	// of a pool that does not sample.
	sites func() string
	// sampleEvery is the sampling period of a release build's pool that
	// samples (WithSampling), whose sites are those of the sampled
	// objects; 0 otherwise.
	sampleEvery int

	once sync.Once
	msg  string
}

func (e *exhaustedError) Error() string {
	e.once.Do(func() {
		e.msg = fmt.Sprintf("%v: %s of %s (pool %q): the pool has %d live objects, its bound", ErrExhausted, e.op, e.typeName, e.pool, e.bound)
		var sites string
		if e.sites != nil {
			sites = e.sites()
		}
		switch {
		case sites != "" && e.sampleEvery > 0:
			e.msg += "; when this message was made, the sampled live objects (" + sampling(e.sampleEvery) + ") came from:\n" + sites
		case sites != "":
			e.msg += "; when this message was made, the live objects came from:\n" + sites
		case e.sampleEvery > 0:
			e.msg += "; none of them was sampled (" + sampling(e.sampleEvery) + "): a build with -tags slabdebug names every site, here and in tracker reports"
		default:
			e.msg += "; release builds record where objects were allocated only for pools that sample (WithSampling): " +
				"a build with -tags slabdebug names the sites that hold them, here and in tracker reports"
		}
	})
	return e.msg
}

// sampling says what a release build's pool that samples every records.
func sampling(every int) string {
	if every == 1 {
		return "the pool records the allocation stack of every object"
	}
	return fmt.Sprintf("the pool records the allocation stack of about one object in %d", every)
}

// Unwrap returns ErrExhausted.
func (e *exhaustedError) Unwrap() error { return ErrExhausted }

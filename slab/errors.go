package slab

import (
	"fmt"
	"os"
	"reflect"
	"runtime"
	"sync"

	"github.com/slabtrack/slabtrack/internal/errs"
	"github.com/slabtrack/slabtrack/internal/slabmap"
)

// Errors: the sentinels, and the text of every error and panic of the
// package, built here by small functions that the calls which fail call, so
// that the messages can be read in one place: those of New and the options,
// of Free, RefOf and Deref on what is not a live object, of a reset function
// that panicked, of calls on a scope, and the internal errors. Debug builds'
// reports word theirs in debug_report.go, a file of debug builds only.

// The sentinel errors. Panics and returned errors wrap them, so callers test
// with errors.Is. Each doc comment quotes the sentinel's message, which
// starts with "slab:"; the errors that wrap it add what was found.
var (
	// ErrDoubleFree is wrapped by the panic of Free (or FreeRef) of an
	// object that is already free, and of RefOf of one. Default builds
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
	// live objects in debug builds, and of the sampled ones in default
	// builds of a pool that samples (WithSampling). Its message is "slab:
	// pool exhausted".
	ErrExhausted = errs.Exhausted
	// ErrStaleRef is wrapped by the panic of Deref or FreeRef on a Ref whose
	// object has been freed since the Ref was issued, and on the zero Ref.
	// Its message is "slab: stale reference".
	ErrStaleRef = errs.StaleRef
	// ErrScoped is wrapped by the panic of Free or RefOf on an object that
	// was allocated in a Scope: Scope.Release frees it. Its message is
	// "slab: object belongs to a scope".
	ErrScoped = errs.Scoped
	// ErrInvalidScope is wrapped by the panic of every use of a scope after its
	// ScopePool took it back (ScopePool.Put), or while Put takes it back on
	// another goroutine, and of every use of a scope from a reset function
	// (WithReset) that the scope's Release or Put called. AllocIn after
	// Release and a second Release do not panic: a released scope is empty
	// and may be used again by its owner. Its message is "slab: invalid
	// scope".
	ErrInvalidScope = errs.InvalidScope
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

// The panics of New and of the options (options.go), on a type or an
// option that New cannot take.

func zeroSizeError(typ reflect.Type) error {
	return fmt.Errorf("slab: New[%s]: zero-size types are not supported: their values need not have distinct addresses", typ)
}

func typeSizeError(typ reflect.Type, size uintptr) error {
	return fmt.Errorf("slab: New[%s]: type of %d bytes exceeds the %d-byte limit", typ, size, maxObjectSize)
}

func nilOptionError(typ reflect.Type) error {
	return fmt.Errorf("slab: New[%s]: nil Option", typ)
}

// resetTypeError is the error of New[typ] given WithReset(reset) of
// another type.
func resetTypeError(typ reflect.Type, reset any) error {
	return fmt.Errorf("slab: New[%s]: WithReset takes a %T, not a func(*%s)", typ, reset, typ)
}

// guardPointersError is the error of New[typ] with option, which puts
// objects on guard pages, for a typ that holds pointers.
func guardPointersError(typ reflect.Type, option string) error {
	return fmt.Errorf("slab: New[%s]: %s: %s holds pointers, which the garbage collector must see: guard pages are for pointer-free types", typ, option, typ)
}

func maxObjectsError(n int) error {
	return fmt.Errorf("slab: WithMaxObjects(%d): the bound must be at least 1", n)
}

func slotsPerSlabError(slots int) error {
	return fmt.Errorf("slab: WithSlotsPerSlab(%d): a slab needs at least 1 slot", slots)
}

func emptyNameError() error {
	return fmt.Errorf("slab: WithName(\"\"): the name must not be empty")
}

func idleTrimError(gcs int) error {
	return fmt.Errorf("slab: WithIdleTrim(%d): the number of GC cycles must not be negative", gcs)
}

func nilResetError() error {
	return fmt.Errorf("slab: WithReset(nil): the reset function must not be nil")
}

func samplingError(every int) error {
	return fmt.Errorf("slab: WithSampling(%d): the period must not be negative", every)
}

func guardSamplingError(every int) error {
	return fmt.Errorf("slab: WithGuardSampling(%d): the period must be at least 1", every)
}

func quarantineError(slots int) error {
	return fmt.Errorf("slab: WithQuarantine(%d): the quarantine cannot be negative", slots)
}

// exhaustedError is the error of an allocation from a bounded pool whose
// live objects number as many as its bound. Where the build records where
// objects were allocated (debug builds, and default builds' sampling), the
// message names the sites that hold the most live objects; it is made when
// it is first read, so that a server that turns the error into a 503
// without printing it pays nothing for the scan.
type exhaustedError struct {
	op             string // the allocating call
	typeName, pool string
	bound          int64
	// sites describes the allocation sites of the live objects, one line
	// each, or returns "" if the build records none. Nil in default builds
	// of a pool that does not sample.
	sites func() string
	// sampleEvery is the sampling period of a default build's pool that
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
			e.msg += "; default builds record where objects were allocated only for pools that sample (WithSampling): " +
				"a build with -tags slabdebug names the sites that hold them, here and in tracker reports"
		}
	})
	return e.msg
}

// sampling says what a default build's pool that samples every records.
func sampling(every int) string {
	if every == 1 {
		return "the pool records the allocation stack of every object"
	}
	return fmt.Sprintf("the pool records the allocation stack of about one object in %d", every)
}

// Unwrap returns ErrExhausted.
func (e *exhaustedError) Unwrap() error { return ErrExhausted }

// The errors of Free, FreeRef, RefOf and Deref on what is not a live object
// of the pool.

// foreignError is the error of Free or RefOf (o) of addr, which lies in the
// slab sp (nil if none) but is not a slot of this pool.
func (p *Pool[T]) foreignError(addr uintptr, sp *slabmap.Slab, o op) error {
	var why string
	switch {
	case sp == nil:
		why = "not in any slab (a new value, a variable, or an object of a slab that Trim released)"
	case sp.Pool != p.id:
		why = fmt.Sprintf("in a slab of pool %q (%s)", sp.Owner.Name(), sp.Owner.TypeName())
	default:
		why = fmt.Sprintf("%d bytes into a %d-byte slot", (addr-sp.Base)%p.size, p.size)
	}
	return fmt.Errorf("%w: %s %#x passed to %v of pool %q is %s", ErrForeign, p.owner.typeName, addr, o, p.owner.name, why)
}

// badFreeError is badFree's error in default builds, which keep no history
// per slot: a slot that is not allocated may have been freed through this
// pointer, freed through a stale pointer to an earlier object of the slot
// (so that this may be the first Free of the object the caller holds), or
// never allocated. The message says so rather than guess.
func (p *Pool[T]) badFreeError(r slotRef[T], st uint8, o op) error {
	num := p.slotNum(r)
	switch {
	case st == stateResetting:
		return p.resettingError(r, o)
	case st == stateScoped && o == opRefOf:
		return fmt.Errorf("%w: RefOf of %s (pool %q, slot %d) that was allocated with AllocIn: Scope.Release frees it, and a Ref must not outlive it",
			ErrScoped, p.owner.typeName, p.owner.name, num)
	case st == stateScoped && debugMode:
		return fmt.Errorf("%w: Free of %s (pool %q, slot %d) that was allocated with AllocIn; Scope.Release frees it",
			ErrScoped, p.owner.typeName, p.owner.name, num)
	case st == stateScoped:
		// Default builds do not tell a scope's objects from the free
		// slots it holds: both readings are named.
		return fmt.Errorf("%w: Free of %s (pool %q, slot %d), a slot that a Scope holds: an object allocated with AllocIn is freed by Scope.Release; "+
			"an object allocated with Alloc was freed already, and a scope has taken its slot since (a double free)",
			ErrScoped, p.owner.typeName, p.owner.name, num)
	case o == opRefOf:
		return &errs.Error{Sentinel: ErrDoubleFree, Msg: fmt.Sprintf(
			"slab: RefOf of an unallocated %s (pool %q, slot %d): the object was freed, or the slot never allocated (build with -tags slabdebug to see where)",
			p.owner.typeName, p.owner.name, num)}
	}
	return &errs.Error{Sentinel: ErrDoubleFree, Msg: fmt.Sprintf(
		"slab: double free of %s (pool %q, slot %d): the slot is already free: this object was freed before, "+
			"or a Free through a stale pointer to an earlier object of the slot freed it, or the slot was never allocated (build with -tags slabdebug to see where)",
		p.owner.typeName, p.owner.name, num)}
}

// racedFreeError is the error of a Free whose slot putFree found in its
// word's inbox already (see racedFree).
func (p *Pool[T]) racedFreeError(r slotRef[T]) error {
	return &errs.Error{Sentinel: ErrDoubleFree, Msg: fmt.Sprintf(
		"slab: double free of %s (pool %q, slot %d): the slot was already on its way back to its owner, so two Frees of one object raced: "+
			"this call and another Free of its object, or two Frees of an earlier object of the slot, before this call correctly freed the next one. "+
			"The slot is free once. Build with -race or -tags slabdebug to catch the race where it happens",
		p.owner.typeName, p.owner.name, p.slotNum(r))}
}

// resettingError is the error of Free or RefOf (o) of the object of slot r
// while the pool's reset function runs on it: the object is being freed.
func (p *Pool[T]) resettingError(r slotRef[T], o op) error {
	if resetRunning(p.reset) {
		return &errs.Error{Sentinel: ErrDoubleFree, Msg: fmt.Sprintf(
			"slab: %v of %s (pool %q, slot %d) from within the pool's %s, which runs on that object as it is being freed: a reset function must not free the object it readies, nor take a Ref to it",
			o, p.owner.typeName, p.owner.name, p.slotNum(r), funcName(p.reset))}
	}
	what := "double free of"
	if o == opRefOf {
		what = "RefOf of a freed object"
	}
	return &errs.Error{Sentinel: ErrDoubleFree, Msg: fmt.Sprintf(
		"slab: %s %s (pool %q, slot %d): another goroutine is freeing the object at the same time (by Free, or by its scope's Release), and the pool's %s is running on it",
		what, p.owner.typeName, p.owner.name, p.slotNum(r), funcName(p.reset))}
}

// guardFreedError is the error of Free or RefOf (o) of the object in ring
// slot k of the pool's guard ring (WithGuardSampling), freed already.
func (p *Pool[T]) guardFreedError(k int, o op) error {
	msg := "slab: double free of %s (pool %q, object %d on a guard page): the object was already freed"
	if o == opRefOf {
		msg = "slab: RefOf of a freed %s (pool %q, object %d on a guard page)"
	}
	return &errs.Error{Sentinel: ErrDoubleFree, Msg: fmt.Sprintf(msg, p.owner.typeName, p.owner.name, k)}
}

// guardForeignError is the error of Free or RefOf (o) of addr, off bytes
// into an object of the pool's guard ring.
func (p *Pool[T]) guardForeignError(addr uintptr, o op, off uintptr) error {
	return fmt.Errorf("%w: %s %#x passed to %v of pool %q is %d bytes into an object on a guard page", ErrForeign, p.owner.typeName, addr, o, p.owner.name, off)
}

// staleRefError is the error of the call op (Deref, FreeRef) of r, which
// names no live object.
func (p *Pool[T]) staleRefError(r Ref[T], op string) error {
	return fmt.Errorf("%w: %s of Ref %v to %s (pool %q): the Ref does not name a live object: it is zero, from another pool, or its object was freed",
		ErrStaleRef, op, r, p.owner.typeName, p.owner.name)
}

// refSlotsError is the panic of RefOf or AllocRef of slot num of the pool
// named pool, beyond what a Ref can name.
func refSlotsError(pool string, num int) error {
	return fmt.Errorf("slab: pool %q has more than 2^32 slots; slot %d cannot be named by a Ref", pool, num)
}

// The panic of a call whose reset function (WithReset) panicked.

// resetError is the error of a reset function that panicked on slot r,
// which the call op was freeing.
func (p *Pool[T]) resetError(failure any, r slotRef[T], op string) *resetPanic {
	return &resetPanic{
		fn:       funcName(p.reset),
		typeName: p.owner.typeName,
		pool:     p.owner.name,
		op:       op,
		slot:     p.slotNum(r),
		value:    failure,
	}
}

// resetPanic is the panic of a call whose reset function panicked: see
// ErrResetPanicked.
type resetPanic struct {
	fn, typeName, pool string
	op                 string // the call that freed the object
	slot               int
	value              any // what the reset function panicked with
	// more counts the other objects of the same Release on which a reset
	// function panicked.
	more int
}

func (e *resetPanic) Error() string {
	msg := fmt.Sprintf("slab: %s of pool %q (%s) panicked on slot %d, which %s was freeing: %v; the object was zeroed instead, and its slot freed",
		e.fn, e.pool, e.typeName, e.slot, e.op, e.value)
	if e.more > 0 {
		msg += fmt.Sprintf(" (reset functions panicked on %d more object(s) of this Release, each zeroed and freed)", e.more)
	}
	return msg
}

// Unwrap returns ErrResetPanicked, and what the reset function panicked
// with if it is an error.
func (e *resetPanic) Unwrap() []error {
	if err, ok := e.value.(error); ok {
		return []error{ErrResetPanicked, err}
	}
	return []error{ErrResetPanicked}
}

// addResetPanic folds err, from a reset function that panicked, into
// first, the first such error of a Release, and returns the result.
func addResetPanic(first, err *resetPanic) *resetPanic {
	if first == nil {
		return err
	}
	first.more++
	return first
}

// funcName returns the name of the function f, a func value.
func funcName(f any) string {
	if fn := runtime.FuncForPC(reflect.ValueOf(f).Pointer()); fn != nil {
		return "reset function " + fn.Name()
	}
	return "the reset function"
}

// The errors of calls on a scope.

// enterError is the error of an operation op that enter refused.
func (s *Scope) enterError(op scopeOp, typ, pool string) error {
	call := scopeCall(op, typ, pool)
	if s == nil {
		return fmt.Errorf("%w: %s with a nil *Scope (a context without a scope?)", ErrNilScope, call)
	}
	st := s.state()
	v := st.ctl.Load()
	switch {
	case v&^ctlFlags == s.gen && v&(ctlBusy|ctlClosing) != 0 && resetRunning(nil):
		// On this goroutine, from a reset function that the scope's
		// Release or Put called: not another goroutine's call.
		return reentrantScopeError(call)
	case v&^ctlFlags != s.gen:
		return fmt.Errorf("%w: %s in a scope that its ScopePool took back: it may serve another owner now", ErrInvalidScope, call)
	case v&ctlClosing != 0:
		return fmt.Errorf("%w: %s in a scope that its ScopePool is taking back: ScopePool.Put runs on another goroutine", ErrInvalidScope, call)
	}
	return fmt.Errorf("%w: %s on a scope while another goroutine runs %s: a Scope is for one goroutine at a time%s",
		ErrScopeBusy, call, st.busyOp(), st.busyDetail())
}

// scopeCall names the call op of a value of type typ of the pool named
// pool, for an error message.
func scopeCall(op scopeOp, typ, pool string) string {
	call := op.String()
	if typ != "" {
		call += " of " + typ
	}
	if pool != "" {
		call += fmt.Sprintf(" (pool %q)", pool)
	}
	return call
}

// reentrantScopeError is the error of call, a use of a scope from a reset
// function that the scope's Release or ScopePool.Put called.
func reentrantScopeError(call string) error {
	return fmt.Errorf("%w: %s in a scope whose Release is running, from a reset function (WithReset) that the Release called: a reset function must not use the scope it is releasing",
		ErrInvalidScope, call)
}

// limitError is the error of an allocation of n bytes, by the operation
// op of a value of type typ, that st's limit refused.
func (st *scopeState) limitError(op scopeOp, typ string, n uintptr) error {
	name := ""
	if st.sp != nil && st.sp.Name != "" {
		name = fmt.Sprintf(" of ScopePool %q", st.sp.Name)
	}
	return fmt.Errorf("%w: %s of %d bytes in a scope%s that has taken %d bytes of its MaxBytes %d",
		ErrScopeLimit, scopeCall(op, typ, ""), n, name, st.took, st.limit)
}

// capacityError is the panic of the call op for c values of et, a
// capacity out of range.
func capacityError(op scopeOp, et *elemType, c int) error {
	return fmt.Errorf("slab: %s of %s: capacity %d out of range", op, et.typ, c)
}

func sliceLengthError(n, c int) error {
	return fmt.Errorf("slab: MakeSliceIn: length %d out of range [0, capacity %d]", n, c)
}

func growCountError(n int) error {
	return fmt.Errorf("slab: Builder.Grow: negative count %d", n)
}

func mapHintError(hint int) error {
	return fmt.Errorf("slab: MakeMapIn: negative hint %d", hint)
}

// Internal errors: a broken invariant of the package, which no use of its
// API should bring about.

// reportInternal writes err, an internal error found where no caller can be
// told (the runtime's cleanup goroutine), to standard error.
func reportInternal(err error) {
	fmt.Fprintln(os.Stderr, err)
}

// slabIndexError is the panic of a pool, named pool, whose new slab the
// address map refused with err.
func slabIndexError(pool string, err error) error {
	return fmt.Errorf("slab: pool %q cannot index a new slab: %w", pool, err)
}

// drainedNoSlotError is the panic of an allocation that a bounded pool,
// named pool, admitted, and for which no free slot turned up (allocDrained).
func drainedNoSlotError(pool string) error {
	return fmt.Errorf("slab: internal error: bounded pool %q admitted an allocation but has no free slot", pool)
}

// scopeNoSlotError is drainedNoSlotError for an allocation in a scope.
func scopeNoSlotError(pool string) error {
	return fmt.Errorf("slab: internal error: pool %q admitted an allocation in a scope but has no free slot", pool)
}

// abandonError reports r, what giving back the slots of a collected scope
// panicked with (abandonOne).
func abandonError(r any) error {
	return fmt.Errorf("slab: internal error: giving back the slots of a collected scope: %v", r)
}

package slab

import (
	"context"
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/race"
)

// Scopes, by file:
//
//   - scope.go: Scope and pool objects in it (AllocIn, TryAllocIn),
//     Release, Len, the context helpers, a scope's state across pools
//     (scopeState) and the lease word that keeps one operation at a time
//     on it.
//   - scope_slots.go: a scope's state for one pool (scopeSlots), with the
//     diagram of its phases.
//   - scope_holders.go: the pool's side, the states that hold its slots
//     (scopeHolders), under Pool.mu.
//   - scope_alloc.go: values of any type in a scope: NewIn, MakeSliceIn,
//     AppendIn, StringIn.
//   - scope_arena.go: the memory they take, a run of chunks per element
//     type (arena).
//   - scope_chunks.go: the chunks, by element type (elemType) and size
//     class, and each type's cache of free chunks; types.go: the tables
//     that find a type's elemType.
//   - scope_maps.go: maps in a scope (MakeMapIn).
//   - scope_builder.go: strings built in a scope (Builder).
//   - scopepool.go: recycled scopes (ScopePool), their limit and Stats.
//   - denseindex.go: the small indexes by which a scope finds its state
//     for a pool or an element type.
//   - debug_scope.go: scopes in debug builds, stubbed in debug_off.go as
//     every debug hook is.

// A Scope owns the objects allocated in it, from any number of pools and as
// slices, strings, maps and values of any type, and frees them all with one
// call to Release. It suits the objects of one HTTP request: allocate them
// in the request's scope and release it when the response is written
// (package slabhttp does this for every request).
//
// Allocation in a scope takes no lock in the common case: the scope takes
// free slots from each pool, and chunks of memory for other values, in
// batches sized in bytes (small at first, growing with use), and hands them
// out itself, with one atomic instruction per call that keeps a second
// goroutine out (see below). Release zeroes what was allocated, keeps about
// as much as this use of the scope needed for its next use (see Release),
// and gives the rest back.
//
// Objects allocated in a scope must not be used after Release, and must not
// be passed to Pool.Free, which panics with ErrScoped. While the scope is
// live they may be read and written by other goroutines, as any object.
//
// A Scope is for one goroutine at a time: allocation in it, Release and Len
// must not run concurrently. Every build checks this at each call: a call
// that finds another goroutine's call in progress on the same scope panics
// with an error wrapping ErrScopeBusy, and leaves the scope as the other
// call leaves it (debug builds add where the other call came from). A
// goroutine that hands the scope to another, and waits for it, uses it
// correctly. Different scopes may allocate from the same pool concurrently.
// The zero Scope is empty and ready to use. A Scope must not be copied
// after first use.
//
// A released scope is empty and may be used again by its owner. Scopes that
// pass from one owner to the next, such as the scopes of HTTP requests,
// should come from a ScopePool: each Get returns a new *Scope on recycled
// memory, and once Put has released it, every use of the old *Scope panics
// with ErrInvalidScope instead of freeing or allocating in another request's
// scope, also from a goroutine that outlived the request and calls AllocIn
// while Put runs. A scope that is dropped after Release gives its memory
// back when the garbage collector finds it unreachable. A scope that is
// dropped without Release leaks its pool objects: they stay allocated,
// counted in Stats.Live of their pools, for the life of the pools, since
// the program may still use them.
//
// In builds with the slabdebug tag, pool objects allocated in a scope are
// taken one by one as Alloc does and freed at Release through the checks
// that Free runs, and released slices, strings and values are poisoned,
// or, of types without pointers, protected on guard pages, so that a use of
// scoped memory after Release is reported like a use after Free.
type Scope struct {
	_ noCopy

	// st is the recycled state that a scope from a ScopePool leases, or
	// nil for a scope whose state is its own. It is never written after
	// the *Scope is made, so that calls on two goroutines race on nothing
	// but the lease word.
	st *scopeState
	// gen is st.ctl of this lease while no operation runs: a multiple of
	// ctlGen. ScopePool.Put ends the lease by moving st.ctl past it.
	gen uint64
	own scopeState
}

// scopeState is what a scope holds: its state for each pool and each type
// of value it has allocated, and its lease word.
type scopeState struct {
	// ctl is the lease word: the number of leases of the state that ended
	// (ScopePool.Put) times ctlGen, plus ctlBusy while an operation runs on
	// the scope and ctlClosing while Put ends the lease. An operation
	// begins with a compare-and-swap from the lease's idle value to
	// ctlBusy set (Scope.enter), and ends storing the idle value back, so
	// that two goroutines are never inside the state at once and a use of
	// an ended lease always fails: the value it expects is gone.
	//
	//	    lease gen idle ---- enter (CAS) ----> gen|busy
	//	          ^  |  ^----- exit (Store) --------'
	//	          |  |
	//	          |  Put (CAS from idle) -> gen|closing -- Put releases -->
	//	          |                                  Store(gen+ctlGen)
	//	          +-- the next lease: gen+ctlGen ---------------------'
	//
	// Put sets closing from the idle value only, waiting for an operation
	// in progress (busy) to end, since the operation's exit stores the idle
	// value whole; an operation that finds closing set, or another gen,
	// panics with ErrInvalidScope; one that finds busy set with its own gen
	// panics with ErrScopeBusy.
	ctl atomic.Uint64

	// ents holds the state for each pool the scope has allocated from,
	// indexed by the pool's dense scope index (scopeHolders.idx): the
	// scopeHot of a *scopeSlots[T] of that pool, or &noScopeSlots. Index 0
	// is never assigned.
	ents []*scopeHot
	// arenas holds the state for each element type, indexed by the type's
	// dense index (elemType.idx); nil where none.
	arenas []*arena
	// maps are the maps made in the scope since the last Release, and the
	// cleared ones kept for reuse (scope_maps.go).
	maps scopeMaps
	// held lists the per-pool states that hold slots; nil until the first
	// AllocIn. It is a separate object so that a cleanup can give the
	// slots back once the scope is unreachable.
	held *scopeSlotsList

	// sp is the ScopePool whose scopes lease the state, nil for a scope of
	// NewScope or a zero Scope; limit is sp.MaxBytes when the lease began.
	sp    *ScopePool
	limit int64
	// took is the bytes of memory this lease has taken for its
	// allocations: the slots of each pool word and the chunks it moved
	// into, counted when it moves into them, which is when the limit is
	// checked. It is the lease's share of sp's in-use bytes.
	took int64

	// busy records, in debug builds, the operation in progress and where
	// it was called from, for the report of a second goroutine's call.
	//lint:ignore U1000 empty and unread in default builds
	busy scopeBusy
}

// Values of scopeState.ctl.
const (
	ctlBusy    = 1 << 0
	ctlClosing = 1 << 1
	ctlFlags   = ctlBusy | ctlClosing
	ctlGen     = 1 << 2
)

// A scopeOp names a scope operation in messages.
type scopeOp uint8

const (
	opAllocIn scopeOp = iota
	opTryAllocIn
	opRelease
	opPut
	opNewIn
	opMakeSliceIn
	opAppendIn
	opStringIn
	opMakeMapIn
	opBuilderIn
	opBuilderWrite
	opDecode
)

var scopeOpNames = [...]string{
	opAllocIn:      "AllocIn",
	opTryAllocIn:   "TryAllocIn",
	opRelease:      "Release",
	opPut:          "ScopePool.Put",
	opNewIn:        "NewIn",
	opMakeSliceIn:  "MakeSliceIn",
	opAppendIn:     "AppendIn",
	opStringIn:     "StringIn",
	opMakeMapIn:    "MakeMapIn",
	opBuilderIn:    "BuilderIn",
	opBuilderWrite: "a Builder's write",
	opDecode:       "slabjson decoding",
}

func (op scopeOp) String() string { return scopeOpNames[op] }

// NewScope returns an empty scope; see Scope for how to recycle scopes.
func NewScope() *Scope { return new(Scope) }

// enter begins the operation op on s and returns s's state, which the
// caller alone may use until it calls s.exit. typ and pool name the type
// and the pool of the value op allocates, for the message of a panic, if
// they are not empty. The zero Scope gets its own state here.
//
// enter panics with an error wrapping ErrNilScope if s is nil, ErrInvalidScope
// if its lease has ended or is ending, and ErrScopeBusy if another
// goroutine's operation is in progress on it.
func (s *Scope) enter(op scopeOp, typ, pool string) *scopeState {
	if s != nil {
		st := s.state()
		if st.ctl.CompareAndSwap(s.gen, s.gen|ctlBusy) {
			if debugMode {
				st.noteEnter(op)
			}
			return st
		}
	}
	panic(s.enterError(op, typ, pool))
}

// state returns the state s leases, or its own.
func (s *Scope) state() *scopeState {
	if st := s.st; st != nil {
		return st
	}
	return &s.own
}

// exit ends the operation that enter began on st.
func (s *Scope) exit(st *scopeState) {
	if debugMode {
		st.noteExit()
	}
	st.ctl.Store(s.gen)
}

// check panics as enter does if s may not be used now, without beginning
// an operation: for calls that allocate nothing in s.
func (s *Scope) check(op scopeOp) {
	if s != nil && s.state().ctl.Load()&^ctlBusy == s.gen {
		return
	}
	panic(s.enterError(op, "", ""))
}

// AllocIn returns a pointer to a zeroed T owned by s: s.Release frees it.
// AllocIn takes no lock unless s has used up the slots it holds of p, and
// executes one atomic instruction (two if p is bounded by WithMaxObjects,
// which counts every object, as Alloc does).
//
// AllocIn panics with an error wrapping ErrExhausted if p is bounded and the
// bound is reached, ErrScopeLimit if s comes from a ScopePool with MaxBytes
// and has taken that much memory, and ErrNilScope if s is nil (as ScopeFrom
// returns for a context that carries no scope): use TryAllocIn to get an
// error instead. It panics with an error wrapping ErrInvalidScope if s was taken
// back by its ScopePool, and ErrScopeBusy if another goroutine is using s.
func (p *Pool[T]) AllocIn(s *Scope) *T {
	// The fast path hands out the lowest free slot of s's current word of
	// p. It is written out here, not called, as Alloc's is.
	if s != nil {
		st := s.st
		if st == nil {
			st = &s.own
		}
		if st.ctl.CompareAndSwap(s.gen, s.gen|ctlBusy) {
			if i := p.sc.idx.Load(); uint(i) < uint(len(st.ents)) {
				if h := st.ents[i]; h.pool == unsafe.Pointer(p) && h.free != 0 {
					f := h.free
					x := unsafe.Add(h.mem, uintptr(bits.TrailingZeros64(f))*h.size)
					h.free = f & (f - 1)
					st.ctl.Store(s.gen)
					if race.Enabled {
						race.Acquire(x) // the last Free or Release of the slot happens before this
					}
					if asan.Enabled {
						asanAllocIn(x, h.size)
					}
					return (*T)(x)
				}
			}
			st.ctl.Store(s.gen)
		}
	}
	return p.allocInSlow(s)
}

func (p *Pool[T]) allocInSlow(s *Scope) *T {
	x, err := p.allocIn(s, opAllocIn)
	if err != nil {
		panic(err)
	}
	return x
}

// TryAllocIn is like AllocIn, but returns nil and an error where AllocIn
// panics for input that a correct program may meet: an error wrapping
// ErrExhausted when a bound set with WithMaxObjects is reached, one wrapping
// ErrScopeLimit when s has taken the memory its ScopePool's MaxBytes allows,
// and one wrapping ErrNilScope if s is nil (as ScopeFrom returns for a
// context that carries no scope). It never blocks.
//
// TryAllocIn panics, as AllocIn does, with an error wrapping ErrInvalidScope if
// s was taken back by its ScopePool and ErrScopeBusy if another goroutine
// is using s: only a buggy program does either.
func (p *Pool[T]) TryAllocIn(s *Scope) (*T, error) {
	if s == nil {
		return nil, s.enterError(opTryAllocIn, p.owner.typeName, p.owner.name)
	}
	return p.allocIn(s, opTryAllocIn)
}

// allocIn is AllocIn's slow path and TryAllocIn's body. A nil s panics in
// enter. It takes only s and op, so that allocInSlow stays cheap enough to
// be inlined into AllocIn.
func (p *Pool[T]) allocIn(s *Scope, op scopeOp) (*T, error) {
	st := s.enter(op, p.owner.typeName, p.owner.name)
	defer s.exit(st)
	if p.bound != 0 && !p.admit() {
		return nil, p.exhausted("AllocIn")
	}
	b := scopeSlotsOf(st, p)
	if debugMode {
		return p.allocInDebug(st, b)
	}
	return p.allocInSlots(st, b)
}

// Release frees everything allocated in s, in every pool and as slices,
// strings, maps and values, and leaves s empty and ready for reuse. The
// objects are zeroed, so nothing they referenced stays reachable through
// the pools; they must not be used after Release.
//
// Release keeps, for the scope's next use, about as many free slots of each
// pool and as much memory for each type as this use needed, up to 32 KiB of
// each, and gives the rest back. A pool or type the scope
// did not use since the previous Release is given back entirely, so a
// second Release in a row frees nothing and gives back what the first kept.
// Release of a nil *Scope does nothing.
//
// Release panics with an error wrapping ErrInvalidScope if s was taken back by
// its ScopePool (also while Put runs on another goroutine), and ErrScopeBusy
// if another goroutine is using s. If a pool's reset function (WithReset)
// panics on an object, Release zeroes that object, frees everything else
// all the same, and then panics with an error wrapping ErrResetPanicked;
// every use of s from inside Release, as by a reset function, panics with
// one wrapping ErrInvalidScope.
func (s *Scope) Release() {
	if s == nil {
		return
	}
	st := s.enter(opRelease, "", "")
	defer s.exit(st)
	if _, err := st.release(); err != nil {
		panic(err)
	}
}

// scopeKeepBytes is the most memory Release keeps, per pool and per slice
// element type, for a scope's next use.
const scopeKeepBytes = 32 << 10

// release is Release of the state, which the caller has entered. It
// returns the bytes handed out since the last release, and the first panic
// of a pool's reset function, if any: every object is freed all the same
// (reset.go). No use of the scope can begin while it runs: the caller's
// entry holds the scope's lease word busy or closing.
func (st *scopeState) release() (used int64, err error) {
	var failed *resetPanic
	if st.held != nil {
		states := st.held.states
		n := 0
		for i, h := range states {
			u, holds, ferr := h.release()
			used += u
			if ferr != nil {
				failed = addResetPanic(failed, ferr)
			}
			if holds {
				if n != i {
					states[n] = h
				}
				n++
			}
		}
		clear(states[n:])
		st.held.states = states[:n]
	}
	for _, a := range st.arenas {
		if a != nil {
			used += int64(a.release())
		}
	}
	st.maps.release()
	if st.sp != nil {
		st.sp.inUseBytes.Add(-st.took)
	}
	st.took = 0
	if failed != nil {
		return used, failed
	}
	return used, nil
}

// take counts n more bytes of memory taken by the lease and reports whether
// the lease's limit allows them. An allocation that needs them fails with
// ErrScopeLimit if it does not.
func (st *scopeState) take(n uintptr) bool {
	if st.limit != 0 && st.took+int64(n) > st.limit {
		if st.sp != nil {
			st.sp.limitErrors.Add(1)
		}
		return false
	}
	st.took += int64(n)
	if st.sp != nil {
		st.sp.inUseBytes.Add(int64(n))
	}
	return true
}

// Len returns the number of pool objects allocated in s since its last
// Release. Slices, strings and values are not counted. It returns 0 for a
// nil scope and one that its ScopePool took back, and panics with an error
// wrapping ErrScopeBusy if another goroutine is using s.
func (s *Scope) Len() int {
	if s == nil || s.state().ctl.Load()&^ctlFlags != s.gen {
		return 0
	}
	st := s.enter(opRelease, "", "")
	defer s.exit(st)
	if st.held == nil {
		return 0
	}
	n := 0
	for _, h := range st.held.states {
		n += h.live()
	}
	return n
}

// list adds b to the states st releases, once.
func (st *scopeState) list(b anyScopeSlots) {
	if b.listed() {
		return
	}
	if st.held == nil {
		st.held = new(scopeSlotsList)
		runtime.AddCleanup(st, (*scopeSlotsList).abandon, st.held)
	}
	st.held.states = append(st.held.states, b)
	b.setListed(true)
}

// scopeSlotsList is the list of a scope's per-pool states that hold slots of
// their pool.
type scopeSlotsList struct {
	states []anyScopeSlots
}

// abandon gives back the free slots of a collected scope; it runs as the
// scope's cleanup, on the runtime's cleanup goroutine, where a panic would
// end the process: a state that a misused scope left inconsistent is
// reported and skipped instead.
func (h *scopeSlotsList) abandon() {
	for _, st := range h.states {
		abandonOne(st)
	}
}

func abandonOne(st anyScopeSlots) {
	defer func() {
		if r := recover(); r != nil {
			reportInternal(abandonError(r))
		}
	}()
	st.abandon()
}

type scopeKey struct{}

// WithScope returns a copy of ctx that carries s, for ScopeFrom.
func WithScope(ctx context.Context, s *Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

// ScopeFrom returns the scope that ctx carries (see WithScope), or nil.
func ScopeFrom(ctx context.Context) *Scope {
	s, _ := ctx.Value(scopeKey{}).(*Scope)
	return s
}

package slab

import (
	"context"
	"fmt"
	"math/bits"
	"runtime"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/race"
)

// Scopes, by file:
//
//   - scope.go: the API (Scope, AllocIn, TryAllocIn, Release, Len, the
//     context helpers) and a scope's state across pools (scopeState).
//   - scope_slots.go: a scope's state for one pool (scopeSlots), with the
//     diagram of its phases.
//   - scope_holders.go: the pool's side, the states that hold its slots
//     (scopeHolders), under Pool.mu.
//   - scope_arena.go: slices, strings and values in a scope (arena).
//   - scopepool.go: recycled scopes (ScopePool).
//   - denseindex.go: the small indexes by which a scope finds its state
//     for a pool or an element type.
//   - debug_scope.go: scopes in debug builds, stubbed in debug_off.go as
//     every debug hook is.

// A Scope owns the objects allocated in it, from any number of pools and as
// slices and strings, and frees them all with one call to Release. It suits
// the objects of one HTTP request: allocate them in the request's scope and
// release it when the response is written (package slabhttp does this for
// every request).
//
// Allocation in a scope takes no lock and executes no atomic instruction in
// the common case: the scope takes free slots from each pool, and chunks of
// memory for slices and strings, in batches sized in bytes (small at first,
// growing with use), and hands them out itself. Release zeroes what was
// allocated, keeps about as much as this use of the scope needed for its
// next use (see Release), and gives the rest back.
//
// Objects allocated in a scope must not be used after Release, and must not
// be passed to Pool.Free, which panics with ErrScoped. While the scope is
// live they may be read and written by other goroutines, as any object.
//
// A Scope is not safe for concurrent use: allocation in it, Release and Len
// must not run concurrently, as is natural for the scope of one request on
// its handler's goroutine (debug builds report concurrent use, and -race
// reports it as a data race). Different scopes may allocate from the same
// pool concurrently. The zero Scope is empty and ready to use. A Scope must
// not be copied after first use.
//
// A released scope is empty and may be used again by its owner. Scopes that
// pass from one owner to the next, such as the scopes of HTTP requests,
// should come from a ScopePool: each Get returns a new *Scope on recycled
// memory, and once Put has released it, every use of the old *Scope panics
// with ErrReleased instead of freeing or allocating in another request's
// scope. A scope that is dropped after Release gives its memory back when
// the garbage collector finds it unreachable. A scope that is dropped
// without Release leaks its pool objects: they stay allocated, counted in
// Stats.Live of their pools, for the life of the pools, since the program
// may still use them.
//
// In builds with the slabdebug tag, pool objects allocated in a scope are
// taken one by one as Alloc does and freed at Release through the checks
// that Free runs, so that a use of a scoped object after Release is
// reported like a use after Free.
type Scope struct {
	_ noCopy

	// st is the scope's memory: own, or for a scope from a ScopePool the
	// recycled state it leases.
	st *scopeState
	// gen is st.gen when the lease began; ScopePool.Put ends it.
	gen uint64
	own scopeState
}

// scopeState is what a scope holds: its state for each pool and each type
// of slice element it has allocated from.
type scopeState struct {
	// gen counts the leases of the state that ended (ScopePool.Put).
	gen uint64
	// ents holds the state for each pool the scope has allocated from,
	// indexed by the pool's dense scope index (scopeHolders.idx): the
	// scopeHot of a *scopeSlots[T] of that pool, or &noScopeSlots. Index 0
	// is never assigned.
	ents []*scopeHot
	// arenas holds the state for each element type, indexed by the type's
	// dense index (elemType.idx); nil where none.
	arenas []*arena
	// held lists the per-pool states that hold slots; nil until the first
	// AllocIn. It is a separate object so that a cleanup can give the
	// slots back once the scope is unreachable.
	held *scopeHeld
	// busy is set while a debug build runs an operation on the scope, to
	// catch concurrent use (scopeState.enter).
	//lint:ignore U1000 empty and unread in release builds
	busy scopeBusy
}

// NewScope returns an empty scope; see Scope for how to recycle scopes.
func NewScope() *Scope { return new(Scope) }

// lease returns the state s leases, or panics with ErrNilScope if s is nil
// and with ErrReleased if its lease has ended; op names the call, of a value
// of type typ of the pool named pool if they are not empty. The zero Scope
// gets its own state here.
func (s *Scope) lease(op, typ, pool string) *scopeState {
	if s != nil {
		st := s.st
		if st == nil {
			st = &s.own
			s.st = st
		}
		if st.gen == s.gen {
			return st
		}
	}
	if s == nil {
		panic(nilScopeError(op, typ, pool))
	}
	panic(fmt.Errorf("%w: %s in a scope that its ScopePool took back: it may serve another owner now", ErrReleased, scopeCall(op, typ, pool)))
}

// nilScopeError is the error of the call op, as lease names it, with a nil
// *Scope.
func nilScopeError(op, typ, pool string) error {
	return fmt.Errorf("%w: %s with a nil *Scope (a context without a scope?)", ErrNilScope, scopeCall(op, typ, pool))
}

// scopeCall names the call op of a value of type typ of the pool named
// pool, for an error message.
func scopeCall(op, typ, pool string) string {
	if typ != "" {
		op += " of " + typ
	}
	if pool != "" {
		op += fmt.Sprintf(" (pool %q)", pool)
	}
	return op
}

// AllocIn returns a pointer to a zeroed T owned by s: s.Release frees it.
// AllocIn takes no lock and executes no atomic instruction unless s has used
// up the slots it holds of p, or p is bounded by WithMaxObjects (then one
// atomic add counts the object, as in Alloc).
//
// AllocIn panics with an error wrapping ErrExhausted if p is bounded and the
// bound is reached, and with one wrapping ErrNilScope if s is nil (as
// ScopeFrom returns for a context that carries no scope): use
// TryAllocIn to get an error instead. It panics with an error wrapping
// ErrReleased if s was taken back by its ScopePool.
func (p *Pool[T]) AllocIn(s *Scope) *T {
	// The fast path hands out the lowest free slot of s's current word of
	// p. It is written out here, not called, as Alloc's is.
	if s != nil {
		if st, i := s.st, p.sc.idx.Load(); st != nil && st.gen == s.gen && uint(i) < uint(len(st.ents)) {
			if h := st.ents[i]; h.pool == unsafe.Pointer(p) && h.free != 0 {
				f := h.free
				j := uintptr(bits.TrailingZeros64(f))
				h.free = f & (f - 1)
				x := unsafe.Add(h.mem, j*h.size)
				if race.Enabled {
					race.Acquire(x) // the last Free or Release of the slot happens before this
				}
				if asan.Enabled {
					asanAllocIn(x, h.size)
				}
				return (*T)(x)
			}
		}
	}
	return p.allocInSlow(s)
}

func (p *Pool[T]) allocInSlow(s *Scope) *T {
	x, err := p.allocIn(s)
	if err != nil {
		panic(err)
	}
	return x
}

// TryAllocIn is like AllocIn, but returns nil and an error where AllocIn
// panics for input that a correct program may meet: an error wrapping
// ErrExhausted when a bound set with WithMaxObjects is reached, and one
// wrapping ErrNilScope if s is nil (as ScopeFrom returns for a context that
// carries no scope). It never blocks.
//
// TryAllocIn panics, as AllocIn does, with an error wrapping ErrReleased if
// s was taken back by its ScopePool: only a buggy program uses a scope after
// handing it back.
func (p *Pool[T]) TryAllocIn(s *Scope) (*T, error) {
	if s == nil {
		return nil, nilScopeError("TryAllocIn", p.owner.typeName, p.owner.name)
	}
	return p.allocIn(s)
}

// allocIn is AllocIn's slow path and TryAllocIn's body. A nil s panics in
// lease. It takes no argument but s, so that allocInSlow stays cheap enough
// to be inlined into AllocIn: the panics it raises name AllocIn.
func (p *Pool[T]) allocIn(s *Scope) (*T, error) {
	st := s.lease("AllocIn", p.owner.typeName, p.owner.name)
	if debugMode {
		defer st.exit(st.enter(&opAllocIn))
	}
	if p.bound != 0 && !p.admit() {
		return nil, p.exhausted()
	}
	b := scopeSlotsOf(st, p)
	if debugMode {
		return p.allocInDebug(st, b), nil
	}
	return p.allocInSlots(st, b), nil
}

// Release frees everything allocated in s, in every pool and as slices and
// strings, and leaves s empty and ready for reuse. The objects are zeroed,
// so nothing they referenced stays reachable through the pools; they must
// not be used after Release.
//
// Release keeps, for the scope's next use, about as many free slots of each
// pool and as much memory for each slice element type as this use needed,
// up to 32 KiB of each (ScopeKeepBytes), and gives the rest back. A pool or
// type the scope did not use since the previous Release is given back
// entirely, so a second Release in a row frees nothing and gives back what
// the first kept. Release of a nil *Scope does nothing; Release of a scope
// that its ScopePool took back panics with an error wrapping ErrReleased.
func (s *Scope) Release() {
	if s == nil {
		return
	}
	st := s.lease("Release", "", "")
	if debugMode {
		defer st.exit(st.enter(&opRelease))
	}
	st.release()
}

// ScopeKeepBytes is the most memory Release keeps, per pool and per slice
// element type, for a scope's next use.
const ScopeKeepBytes = 32 << 10

// release is Release of the state.
func (st *scopeState) release() {
	if st.held != nil {
		states := st.held.states
		n := 0
		for i, h := range states {
			if h.release() {
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
			a.release()
		}
	}
}

// Len returns the number of pool objects allocated in s since its last
// Release. Slices and strings are not counted.
func (s *Scope) Len() int {
	if s == nil || s.st == nil || s.st.gen != s.gen || s.st.held == nil {
		return 0
	}
	n := 0
	for _, h := range s.st.held.states {
		n += h.live()
	}
	return n
}

// list adds b to the states st releases, once.
func (st *scopeState) list(b scopeHolder) {
	if b.listed() {
		return
	}
	if st.held == nil {
		st.held = new(scopeHeld)
		runtime.AddCleanup(st, (*scopeHeld).abandon, st.held)
	}
	st.held.states = append(st.held.states, b)
	b.setListed(true)
}

// scopeHeld is the list of a scope's per-pool states that hold slots of
// their pool.
type scopeHeld struct {
	states []scopeHolder
}

// abandon gives back the free slots of a collected scope; it runs as the
// scope's cleanup.
func (h *scopeHeld) abandon() {
	for _, st := range h.states {
		st.abandon()
	}
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

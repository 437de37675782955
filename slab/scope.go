package slab

import (
	"context"
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/race"
)

// A Scope owns the objects allocated in it with AllocIn, from any number of
// pools, and frees them all with one call to Release. It suits the objects of
// one HTTP request: allocate them in the request's scope and defer Release
// (package slabhttp does this for every request).
//
// A scope takes free slots from a pool in batches, every free slot of an
// allocBits word of a slab (up to 64) per lock acquisition, and hands them
// out with no lock and no atomic instruction. Release zeroes the objects, a
// run of adjacent slots at a time, and keeps up to 128 free slots per pool
// that the scope used since the previous Release, so that a scope reused for
// request after request takes no lock (its first AllocIn per pool after a
// Release executes one atomic compare-and-swap); it gives the other slots
// back to their pools, one lock acquisition per pool. The free slots a scope
// holds count in Stats.ScopeFree, as per-P caches' count in Stats.Cached, and
// like those, the ones a released scope keeps go back to the slabs when the
// pool drains its caches: on Trim, and when a bounded pool runs short. A
// scope's objects count in Stats.Live and Stats.Scoped.
//
// Objects allocated in a scope must not be used after Release, and must not
// be passed to Pool.Free, which panics with ErrScoped. While the scope is
// live they may be read and written by other goroutines, as any object.
//
// A Scope is not safe for concurrent use: AllocIn, TryAllocIn, Release and Len
// on one scope must not run concurrently, as is natural for the scope of one
// request on its handler's goroutine. Different scopes may allocate from the
// same pool concurrently. The zero Scope is empty and ready to use. A Scope
// must not be copied after first use.
//
// A released scope is empty and may be used again: recycle scopes (one per
// worker goroutine, or through a sync.Pool as slabhttp does) rather than
// calling NewScope per request, since a scope reused this way allocates no
// memory and takes no lock in the common case. A second Release in a row
// frees nothing and gives back the free slots that the first kept; after it
// the scope references no pool. A scope that is dropped after Release gives
// its free slots back when the garbage collector finds it unreachable. A
// scope that is dropped without Release leaks its objects: they stay
// allocated, counted in Stats.Live of their pools, for the life of the pools,
// since the program may still use them; so does a scope in the middle of its
// work keep its slots through Trim.
//
// In builds with the slabdebug tag, AllocIn takes each slot as Alloc does and
// Release frees each object through the checks that Free runs, so that a use
// of a scoped object after Release is reported like a use after Free; scopes
// are then slower and keep no free slots across Release.
type Scope struct {
	_ noCopy

	// ents holds the scope's state for each pool it has allocated from,
	// indexed by the pool's dense scope index (scopeDepot.idx): the
	// scopeHot of a *scopeSlots[T] of that pool, or &noScopeSlots. Index 0
	// is never assigned.
	ents []*scopeHot
	// held lists the states that hold slots; nil until the first AllocIn.
	// It is a separate object so that a cleanup can give the slots back
	// once the scope is unreachable.
	held *scopeHeld
}

// scopeHeld is the list of a scope's states that hold slots of their pool.
type scopeHeld struct {
	states []scopeHolder
}

// scopeHolder is the type-erased face of a scopeSlots.
type scopeHolder interface {
	listed() bool
	setListed(bool)
	// release frees the objects handed out since the last release and
	// reports whether the state still holds slots.
	release() bool
	// abandon gives back the free slots of a scope that was collected.
	abandon()
	// live is the number of objects handed out since the last release.
	live() int
}

// scopeHot is the part of a scopeSlots that AllocIn reads; it does not
// depend on T, so the fast path needs nothing from the type's dictionary,
// and it reads nothing from the Pool but the pool's dense index.
type scopeHot struct {
	// pool is the *Pool[T] while the scope holds slots of it and AllocIn
	// may hand them out without the slow path; nil while the scope holds
	// none, and always nil for bounded pools (which count every object)
	// and in debug builds.
	pool unsafe.Pointer
	// free has bit k set if slot k of the current word is the scope's and
	// not yet handed out; AllocIn hands out the lowest.
	free uint64
	// mem and state point to slot 0 of the current word and to its state
	// byte. Only slots whose bit is set are reached through them, size
	// bytes apart.
	mem, state unsafe.Pointer
	size       uintptr

	// id is the pool's id. Ids are never reused, so a state left behind
	// by a collected pool whose dense index was given to another pool does
	// not match the new one; a match proves the state is a scopeSlots[T]
	// of this pool.
	id uint64
}

// noScopeSlots fills the entries of Scope.ents that belong to no pool, so that
// AllocIn needs no nil check. It matches no pool and is never written.
var noScopeSlots scopeHot

// scopeSlots is a Scope's state for one Pool[T]: the slots it took from the
// pool and which of them it has handed out. Only the scope's goroutine
// changes it; Stats reads free, spare, taken and frees while the state is
// registered with the pool (scopeDepot.holders), without synchronisation, as
// it reads the per-P caches' counts. A parked state's words may also be
// taken back by the pool (see parked).
type scopeSlots[T any] struct {
	scopeHot // first, so that a *scopeSlots[T] is a *scopeHot

	// parked is scopeActive while the scope may hand out its slots,
	// scopeParked from a Release that kept free slots until the scope's
	// next AllocIn in the pool, and scopeTaken once the pool has taken the
	// parked slots back (reclaimScopesLocked). The owner moves it from
	// parked to active, the pool from parked to taken, both by CAS; so a
	// drain or Trim can take back what released scopes keep, as it takes
	// back what per-P caches hold, while scopeHot.pool is nil and AllocIn
	// cannot use them.
	parked atomic.Uint32

	// pool is nil while the scope holds no slot of the pool, so that such
	// a scope keeps no pool alive; it stays set when the pool takes a
	// parked state's slots, until the owner notices.
	pool *Pool[T]
	// words are the words the scope holds. The current word is
	// words[cur]; words before it are used up, words after it are spare,
	// with spare free slots between them.
	words []heldWord[T]
	cur   int
	spare int
	// taken is the number of slots in words.
	taken int
	// frees counts the objects freed by Release while the state was
	// registered; they are added to the pool's count when it leaves.
	frees uint64
	// objs are the objects handed out since the last release, in debug
	// builds only, which take slots one by one as Alloc does (debugScope).
	objs []*T
	// isListed reports whether the state is in its scope's held list.
	isListed bool
	// hidx is the position in the pool's scopeDepot.holders, or -1 while
	// the scope holds no slot of the pool. Unlike the fields above, it
	// belongs to the pool: guarded by Pool.mu, since removing another
	// state from holders moves this one.
	hidx int
}

// Values of scopeSlots.parked.
const (
	scopeActive = iota
	scopeParked
	scopeTaken
)

// heldWord is one allocBits word's worth of slots held by a scope.
type heldWord[T any] struct {
	s    *span[T]
	base uint32 // the word's first slot, a multiple of 64
	mask uint64 // the slots held: bit k is slot base+k
}

const (
	// scopeBatch is the number of slots a scope asks for per lock
	// acquisition. A word with fewer free slots is taken with the next
	// ones, up to scopeMaxWords words, so that a fragmented slab does not
	// cost one lock acquisition per handful of slots.
	scopeBatch    = 32
	scopeMaxWords = 8
	// scopeKeep is the number of free slots per pool that Release keeps
	// for the next use of the scope: two words of a fresh slab. A request
	// that allocates more than that from one pool pays one lock
	// acquisition per extra batch, and one to give them back.
	scopeKeep = 128
)

// scopeDepot is a Pool's side of scopes.
type scopeDepot[T any] struct {
	// idx is the pool's dense scope index, the position of its entry in
	// Scope.ents; 0 until the first AllocIn. It is given back when the pool
	// is collected, so indexes stay as few as the pools alive. Every
	// AllocIn reads it: the padding keeps it off the cache lines of fields
	// that the slow paths write.
	_   [64]byte
	idx atomic.Uint32
	_   [60]byte

	// The fields below are guarded by Pool.mu.

	// holders are the scopes' states that hold slots of this pool.
	holders []*scopeSlots[T]
	// nholders is len(holders), for reclaimScopes to skip the lock when no
	// scope holds slots, as for a pool used without scopes.
	nholders atomic.Int32
	// frees counts the objects freed by scopes' Release, for states that
	// are no longer holders.
	frees uint64
}

// NewScope returns an empty scope; see Scope for how to recycle scopes.
func NewScope() *Scope { return new(Scope) }

// AllocIn returns a pointer to a zeroed T owned by s: s.Release frees it.
// AllocIn takes no lock and executes no atomic instruction unless s has used
// up the slots it holds of p, or p is bounded by WithMaxObjects (then one
// atomic add counts the object, as in Alloc).
//
// AllocIn panics with an error wrapping ErrExhausted if p is bounded and the
// bound is reached (use TryAllocIn to get an error instead), and with one
// wrapping ErrReleased if s is nil (as slab.ScopeFrom returns for a context
// that carries no scope).
func (p *Pool[T]) AllocIn(s *Scope) *T {
	if x := s.pop(unsafe.Pointer(p), p.sc.idx.Load()); x != nil {
		return (*T)(x)
	}
	return p.allocInSlow(s)
}

// pop hands out the lowest free slot of s's current word of pool p, whose
// dense index is i, or returns nil.
func (s *Scope) pop(p unsafe.Pointer, i uint32) unsafe.Pointer {
	if s != nil && uint(i) < uint(len(s.ents)) {
		if h := s.ents[i]; h.pool == p && h.free != 0 {
			f := h.free
			j := uintptr(bits.TrailingZeros64(f))
			h.free = f & (f - 1)
			x := unsafe.Add(h.mem, j*h.size)
			if race.Enabled {
				// The last Free or Release of the slot, also its state
				// byte, happens before this.
				race.Acquire(x)
			}
			*(*uint8)(unsafe.Add(h.state, j)) = stateScoped
			return x
		}
	}
	return nil
}

func (p *Pool[T]) allocInSlow(s *Scope) *T {
	x, err := p.TryAllocIn(s)
	if err != nil {
		panic(err)
	}
	return x
}

// TryAllocIn is like AllocIn, but when a bound set with WithMaxObjects is
// reached it returns nil and an error wrapping ErrExhausted. It never blocks
// and never panics on exhaustion.
//
// TryAllocIn panics with an error wrapping ErrReleased if s is nil.
func (p *Pool[T]) TryAllocIn(s *Scope) (*T, error) {
	if s == nil {
		panic(fmt.Errorf("%w: AllocIn of %s (pool %q) with a nil *Scope (a context without a scope?)",
			ErrReleased, p.owner.typeName, p.owner.name))
	}
	if p.bound != 0 && !p.admit() {
		return nil, p.exhausted()
	}
	b := scopeSlotsOf(s, p)
	if debugMode {
		return p.allocInDebug(s, b), nil
	}
	if b.parked.Load() != scopeActive {
		b.unpark()
	}
	if b.free == 0 && !b.nextWord() {
		p.refillScope(s, b)
	}
	f := b.free
	j := bits.TrailingZeros64(f)
	b.free = f & (f - 1)
	w := &b.words[b.cur]
	r := slotRef[T]{w.s, w.base + uint32(j)}
	x := r.ptr()
	if race.Enabled {
		race.Acquire(unsafe.Pointer(x)) // before the state byte, as in pop
	}
	*r.st() = stateScoped
	return x, nil
}

// scopeSlotsOf returns s's state for p, making it on first use.
func scopeSlotsOf[T any](s *Scope, p *Pool[T]) *scopeSlots[T] {
	i := p.sc.idx.Load()
	if i == 0 {
		i = p.scopeIndex()
	}
	if int(i) >= len(s.ents) {
		ents := make([]*scopeHot, max(int(i)+1, 2*len(s.ents), 16))
		n := copy(ents, s.ents)
		for k := range ents[n:] {
			ents[n+k] = &noScopeSlots
		}
		s.ents = ents
	}
	if h := s.ents[i]; h == &noScopeSlots || h.id != p.id {
		// First use of p, or the state was left by a collected pool
		// whose index p now has: that pool's state held nothing.
		b := &scopeSlots[T]{cur: -1, hidx: -1}
		b.id, b.size = p.id, p.size
		s.ents[i] = &b.scopeHot
	}
	return (*scopeSlots[T])(unsafe.Pointer(s.ents[i]))
}

// refillScope takes a batch of words from p for b, whose words are used up,
// and makes the first one current.
func (p *Pool[T]) refillScope(s *Scope, b *scopeSlots[T]) {
	n := p.takeScopeWords(b)
	if n == 0 && p.bound != 0 {
		// A bounded pool that may not grow has admitted this
		// allocation, so free slots sit in per-P caches: take them back,
		// as allocDrained does.
		p.drainCaches()
		n = p.takeScopeWords(b)
	}
	s.list(b)
	if n == 0 {
		if p.bound != 0 {
			p.live.Add(-1)
		}
		panic(fmt.Errorf("slab: internal error: pool %q admitted an allocation in a scope but has no free slot", p.owner.name))
	}
	b.nextWord()
}

// list adds b to the states s releases, once.
func (s *Scope) list(b scopeHolder) {
	if b.listed() {
		return
	}
	if s.held == nil {
		s.held = new(scopeHeld)
		runtime.AddCleanup(s, (*scopeHeld).abandon, s.held)
	}
	s.held.states = append(s.held.states, b)
	b.setListed(true)
}

func (b *scopeSlots[T]) listed() bool      { return b.isListed }
func (b *scopeSlots[T]) setListed(on bool) { b.isListed = on }

// registerLocked makes b one of p's holders, if it is not.
func (p *Pool[T]) registerLocked(b *scopeSlots[T]) {
	if b.hidx >= 0 {
		return
	}
	b.pool = p
	if p.bound == 0 && !debugMode {
		b.scopeHot.pool = unsafe.Pointer(p)
	}
	b.hidx = len(p.sc.holders)
	p.sc.holders = append(p.sc.holders, b)
	p.sc.nholders.Store(int32(len(p.sc.holders)))
}

// takeScopeWords appends words to b.words under p's lock until it holds
// scopeBatch new slots, and registers b with p. It returns the slots taken.
func (p *Pool[T]) takeScopeWords(b *scopeSlots[T]) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.registerLocked(b)
	n := 0
	for k := 0; k < scopeMaxWords && n < scopeBatch; k++ {
		if k > 0 && len(p.partial) == 0 {
			break // do not grow the pool for spare slots
		}
		s, base, mask := p.takeWordLocked()
		if mask == 0 {
			break
		}
		b.words = append(b.words, heldWord[T]{s, base, mask})
		n += bits.OnesCount64(mask)
	}
	b.taken += n
	b.spare += n
	return n
}

// nextWord makes the next spare word current, if there is one.
func (b *scopeSlots[T]) nextWord() bool {
	if b.cur+1 >= len(b.words) {
		return false
	}
	b.cur++
	w := &b.words[b.cur]
	b.mem = unsafe.Pointer(&w.s.mem[w.base])
	b.state = unsafe.Pointer(&w.s.words[w.base/64].state)
	b.spare -= bits.OnesCount64(w.mask)
	b.free = w.mask
	return true
}

// Release frees every object allocated in s, in every pool, and leaves s
// empty and ready for reuse. The objects are zeroed, so nothing they
// referenced stays reachable through the pools; they must not be used after
// Release.
//
// For each pool that s allocated from since the previous Release, s keeps up
// to 128 free slots for its next use; it gives every other slot back to the
// pools. So a second Release in a row frees nothing and gives back what the
// first kept. Release of a nil *Scope does nothing.
func (s *Scope) Release() {
	if s == nil || s.held == nil {
		return
	}
	states := s.held.states
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
	s.held.states = states[:n]
}

// Len returns the number of objects allocated in s since its last Release.
func (s *Scope) Len() int {
	if s == nil || s.held == nil {
		return 0
	}
	n := 0
	for _, h := range s.held.states {
		n += h.live()
	}
	return n
}

// live is the number of objects b has handed out since the last release.
func (b *scopeSlots[T]) live() int {
	return b.taken - b.spare - bits.OnesCount64(b.free) + len(b.objs)
}

// used is the set of slots of words[k] handed out since the last release.
func (b *scopeSlots[T]) used(k int) uint64 {
	switch {
	case k < b.cur:
		return b.words[k].mask
	case k == b.cur:
		return b.words[k].mask &^ b.free
	}
	return 0
}

// release frees the objects b handed out since the last release: it zeroes
// them and makes their slots free slots of the scope again, with no lock.
// Then it keeps a prefix of the words holding scopeKeep slots, gives the
// others back under one lock acquisition, and parks the state; or it gives
// all of them back if b handed out nothing since the last release: the scope
// no longer uses the pool. It reports whether b still holds slots.
func (b *scopeSlots[T]) release() bool {
	if debugMode {
		return b.releaseDebug()
	}
	p := b.pool
	if p == nil || b.parked.Load() != scopeActive && !b.unpark() {
		b.isListed = false
		return false
	}
	used := 0
	for k := 0; k <= b.cur; k++ {
		w := &b.words[k]
		u := b.used(k)
		used += bits.OnesCount64(u)
		releaseScoped(w.s, w.base, u, w.mask)
	}
	if used == 0 {
		b.giveBack(b.words, true)
		b.isListed = false
		return false
	}
	if p.bound != 0 {
		p.live.Add(-int64(used))
	}
	b.frees += uint64(used)

	// Keep a prefix of the words holding scopeKeep slots.
	k, keep := 0, 0
	if len(b.words) == 1 { // the common case, in short
		k, keep = 1, bits.OnesCount64(b.words[0].mask)
	}
	for k < len(b.words) && keep < scopeKeep {
		keep += bits.OnesCount64(b.words[k].mask)
		k++
	}
	if k == 0 {
		b.giveBack(b.words, true)
		b.isListed = false
		return false
	}
	if k < len(b.words) {
		b.giveBack(b.words[k:], false)
		b.words = b.words[:k]
	}
	b.cur = -1
	b.free = 0
	b.spare = keep
	b.nextWord()
	// Park: AllocIn takes the slow path until it unparks, so that the
	// pool may take the slots back meanwhile.
	b.scopeHot.pool = nil
	b.parked.Store(scopeParked)
	return true
}

// unpark makes a parked state active again and reports whether it still
// holds its slots. If the pool took them back, unpark waits for the pool to
// be done with them and empties the state.
func (b *scopeSlots[T]) unpark() bool {
	p := b.pool
	if b.parked.CompareAndSwap(scopeParked, scopeActive) {
		if p.bound == 0 && !debugMode {
			b.scopeHot.pool = unsafe.Pointer(p)
		}
		return true
	}
	// scopeTaken: reclaimScopesLocked returned the words and unregistered
	// b, under the pool's lock; taking the lock waits until it is done.
	p.mu.Lock()
	b.reset()
	p.mu.Unlock()
	b.parked.Store(scopeActive)
	return false
}

// reset empties a state that holds no slot any more.
func (b *scopeSlots[T]) reset() {
	clear(b.words)
	b.words = b.words[:0]
	b.cur, b.spare, b.free, b.taken, b.frees = -1, 0, 0, 0, 0
	b.mem, b.state, b.scopeHot.pool, b.pool = nil, nil, nil, nil
}

// giveBack returns the words ws, whose slots must all be free, to the pool.
// If all is set, ws are all of b's words and b leaves the pool's holders.
func (b *scopeSlots[T]) giveBack(ws []heldWord[T], all bool) {
	p := b.pool
	p.mu.Lock()
	for _, w := range ws {
		p.returnWordLocked(w.s, w.base, w.mask)
		b.taken -= bits.OnesCount64(w.mask)
	}
	if all {
		p.sc.removeLocked(b)
	}
	p.mu.Unlock()
	if all {
		b.reset()
	} else {
		clear(ws)
	}
}

// reclaimScopesLocked takes back the slots of every parked scope state, as
// drainCaches takes back the slots of the per-P caches: they are all free.
func (p *Pool[T]) reclaimScopesLocked() {
	for i := len(p.sc.holders) - 1; i >= 0; i-- {
		b := p.sc.holders[i]
		if !b.parked.CompareAndSwap(scopeParked, scopeTaken) {
			continue
		}
		for _, w := range b.words {
			p.returnWordLocked(w.s, w.base, w.mask)
		}
		p.sc.removeLocked(b)
	}
}

// abandon gives back the free slots of a state whose scope was collected.
// The objects it handed out since the last release stay allocated: the
// program may still use them, and Stats counts them as Live.
func (b *scopeSlots[T]) abandon() {
	p := b.pool
	if p == nil {
		return
	}
	switch b.parked.Load() {
	case scopeTaken:
		return // the pool took the slots back already
	case scopeParked:
		if !b.parked.CompareAndSwap(scopeParked, scopeTaken) {
			return
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, w := range b.words {
		p.returnWordLocked(w.s, w.base, w.mask&^b.used(k))
	}
	p.sc.removeLocked(b)
}

// abandon gives back the free slots of a collected scope; it runs as the
// scope's cleanup.
func (h *scopeHeld) abandon() {
	for _, st := range h.states {
		st.abandon()
	}
}

// releaseScoped frees the slots used of the word at base of s, of which the
// scope holds mask: it zeroes them with typed clears (write barriers
// included, as the GC requires for pointer words) a run of adjacent slots at
// a time, and marks them free. The slots stay the scope's.
func releaseScoped[T any](s *span[T], base uint32, used, mask uint64) {
	state := &s.words[base/64].state
	if mask == ^uint64(0) {
		// The scope holds the whole word, whose free slots are stateFree
		// already: mark all 64 free with one fixed-size store, which
		// compiles to a few vector stores, not a call per run.
		*state = [64]uint8{}
	}
	for u := used; u != 0; {
		lo := uint32(bits.TrailingZeros64(u))
		n := uint32(bits.TrailingZeros64(^(u >> lo))) // length of the run at lo
		i, j := base+lo, base+lo+n
		if race.Enabled {
			// A later use from another goroutine races with this
			// Release, as with a Free.
			race.WriteRange(unsafe.Pointer(&s.mem[i]), int(n)*int(unsafe.Sizeof(s.mem[0])))
		}
		clear(s.mem[i:j])
		if mask != ^uint64(0) {
			clear(state[lo : lo+n]) // stateFree
		}
		if race.Enabled {
			for k := i; k < j; k++ {
				race.ReleaseMerge(unsafe.Pointer(&s.mem[k]))
			}
		}
		u &^= (1<<n - 1) << lo
	}
}

// Debug builds (debugScope). A scope takes each slot as Alloc does and frees
// each object as Free does, through the pool's per-slot paths and their
// debug hooks, so that the debug build records, checks and quarantines
// scoped objects like any other: a use of a scoped object after Release is
// then caught like a use after Free. Scopes are slower there, and keep no
// slots across Release.

// allocInDebug is AllocIn in debug builds. The caller admitted the object
// in a bounded pool.
func (p *Pool[T]) allocInDebug(s *Scope, b *scopeSlots[T]) *T {
	if b.pool == nil {
		p.mu.Lock()
		p.registerLocked(b)
		p.mu.Unlock()
	}
	s.list(b)
	x := p.alloc()
	r := p.lookup(x)
	*r.st() = stateScoped
	b.objs = append(b.objs, x)
	return x
}

// releaseDebug is release in debug builds: each object goes through
// Pool.free, which counts the frees and the bound.
func (b *scopeSlots[T]) releaseDebug() bool {
	p := b.pool
	if p != nil {
		for i, x := range b.objs {
			r := p.lookup(x)
			*r.st() = stateLive // the state Pool.free expects
			p.free(r)
			b.objs[i] = nil
		}
		b.objs = b.objs[:0]
		p.mu.Lock()
		p.sc.removeLocked(b)
		p.mu.Unlock()
		b.reset()
	}
	b.isListed = false
	return false
}

// removeLocked unregisters b, which leaves the pool, and keeps its count of
// frees.
func (d *scopeDepot[T]) removeLocked(b *scopeSlots[T]) {
	i, last := b.hidx, len(d.holders)-1
	d.holders[i] = d.holders[last]
	d.holders[i].hidx = i
	d.holders[last] = nil
	d.holders = d.holders[:last]
	d.nholders.Store(int32(last))
	b.hidx = -1
	d.frees += b.frees // the owner resets b.frees when it empties b
}

// freeLocked is the number of free slots that scopes hold. Each scope changes
// its counts without synchronisation, so a concurrent read sees recent values
// (exact once the scopes' goroutines are synchronised with the caller), and
// a stale one is too high, never too low: a bounded pool may then grow a
// little early, never stall. The reads are word-sized and hidden from the
// race detector (go:norace), like the per-P caches' counts.
//
//go:norace
func (d *scopeDepot[T]) freeLocked() int {
	n := 0
	for _, b := range d.holders {
		n += bits.OnesCount64(b.free) + b.spare
	}
	return n
}

// countsLocked returns the objects that scopes have handed out, the free
// slots they hold and the objects they have freed, read as freeLocked does.
//
//go:norace
func (d *scopeDepot[T]) countsLocked() (scoped, free int, frees uint64) {
	frees = d.frees
	for _, b := range d.holders {
		f := bits.OnesCount64(b.free) + b.spare
		free += f
		scoped += b.taken - f + len(b.objs)
		frees += b.frees
	}
	return scoped, free, frees
}

// scopeIndexes hands out dense scope indexes (scopeDepot.idx), and takes
// back those of collected pools.
var scopeIndexes struct {
	sync.Mutex
	next uint32 // the lowest index never assigned, from 1
	free []uint32
}

// scopeIndex gives p its dense scope index, on p's first AllocIn.
func (p *Pool[T]) scopeIndex() uint32 {
	scopeIndexes.Lock()
	defer scopeIndexes.Unlock()
	if i := p.sc.idx.Load(); i != 0 {
		return i
	}
	var i uint32
	if k := len(scopeIndexes.free); k > 0 {
		i = scopeIndexes.free[k-1]
		scopeIndexes.free = scopeIndexes.free[:k-1]
	} else {
		scopeIndexes.next++
		i = scopeIndexes.next
	}
	p.sc.idx.Store(i)
	// A collected pool is held by no scope (a scope holding its slots
	// references it), so its index is free for the next pool;
	// scopeHot.id tells the two apart.
	runtime.AddCleanup(p, freeScopeIndex, i)
	return i
}

func freeScopeIndex(i uint32) {
	scopeIndexes.Lock()
	scopeIndexes.free = append(scopeIndexes.free, i)
	scopeIndexes.Unlock()
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

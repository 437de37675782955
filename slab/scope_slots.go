package slab

import (
	"math/bits"
	"sync/atomic"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/race"
)

// A scope's state for one pool: scopeSlots. The pool's side of it, the
// states that hold its slots, is scopeHolders (scope_holders.go).
//
// A scope takes free slots from the central free set in batches, a few
// slots of one allocBits word at a time: the first batch of a use of the
// scope holds about scopeFirstBytes, and each next one twice as many, up to
// a whole word. Taken slots are marked stateScoped at once, and stay so
// while the scope holds them, handed out or not: AllocIn writes no state
// byte, and Pool.Free of any of them panics with ErrScoped. Release zeroes
// the objects handed out, keeps as many slots as this use of the scope
// handed out (up to scopeKeepBytes), and gives the rest back, marked free.
//
// The life of a state, in scopeSlots.phase. "Owner" is the scope's
// goroutine (AllocIn, Release); "pool" is drainCaches or Trim, through
// reclaimScopesLocked under Pool.mu, or the scope's cleanup (abandon).
//
//	                   AllocIn: hand out a slot, or refill
//	                   a batch under Pool.mu (owner)
//	                         +------+
//	                         |      |
//	                         v      |
//	  new state --------> scopeActive -----------------------------------+
//	  (holds nothing)      ^  ^    |                                     |
//	                       |  |    | Release, something handed out       |
//	                       |  |    | (owner): zero it, keep some words,  |
//	                       |  |    | give the rest back; Store(parked)   |
//	                       |  |    v                                     |
//	                       |  +- scopeParked                             |
//	  AllocIn or Release   |  AllocIn or Release (owner, unpark):        |
//	  (owner, unpark):     |  CAS parked->active; the slots are kept     |
//	  lock Pool.mu to wait |       |                                     |
//	  for the pool, empty  |       | reclaimScopesLocked or abandon      |
//	  the state,           |       | (pool): CAS parked->taken; the      |
//	  Store(active)        |       | winner gives every slot back        |
//	                       |       v                                     |
//	                       +---- scopeTaken                              |
//	                                                                     |
//	  Release with nothing handed out since the last one (owner): give --+
//	  every slot back, leave the pool's holders, stay active and empty.
//
// Only the CAS winner touches a parked state's words, as only a drain
// touches a per-P cache's words once it owns them. The owner never parks a
// state it is using, so the pool never takes an active state's slots,
// except abandon: once the scope is collected no owner is left, and abandon
// gives back the slots the state holds and has not handed out, in any phase
// but taken.

// scopeHot is the part of a scopeSlots that AllocIn reads; it does not
// depend on T, so the fast path needs nothing from the type's dictionary,
// and it reads nothing from the Pool but the pool's dense index.
type scopeHot struct {
	// pool is the *Pool[T] while the scope holds slots of it and AllocIn
	// may hand them out without the slow path; nil while the scope holds
	// none or is parked, and always nil for bounded pools (which count
	// every object) and in debug builds.
	pool unsafe.Pointer
	// free has bit k set if slot k of the current word is the scope's and
	// not yet handed out; AllocIn hands out the lowest.
	free uint64
	// mem points to slot 0 of the current word. Only slots whose bit is
	// set are reached through it, size bytes apart.
	mem  unsafe.Pointer
	size uintptr

	// id is the pool's id. Ids are never reused, so a state left behind
	// by a collected pool whose dense index was given to another pool does
	// not match the new one; a match proves the state is a scopeSlots[T]
	// of this pool.
	id uint64
}

// noScopeSlots fills the entries of scopeState.ents that belong to no pool,
// so that AllocIn needs no nil check. It matches no pool and is never
// written.
var noScopeSlots scopeHot

// anyScopeSlots is the type-erased face of a scopeSlots.
type anyScopeSlots interface {
	listed() bool
	setListed(bool)
	// release frees the objects handed out since the last release and
	// returns their bytes, reports whether the state still holds slots,
	// and returns the first panic of the pool's reset function, if any
	// (the objects are freed all the same, see reset.go).
	release() (used int64, holds bool, failed *resetPanic)
	// abandon gives back the free slots of a scope that was collected.
	abandon()
	// live is the number of objects handed out since the last release.
	live() int
}

// scopeSlots is a scope's state for one Pool[T]: the slots it took from the
// pool and which of them it has handed out. Only the scope's goroutine
// changes it; Stats reads free, spare, taken and frees while the state is
// registered with the pool (scopeHolders.holders), without synchronisation, as
// it reads the per-P caches' counts. A parked state's words may also be
// taken back by the pool (see phase).
type scopeSlots[T any] struct {
	scopeHot // first, so that a *scopeSlots[T] is a *scopeHot

	// phase is scopeActive, scopeParked or scopeTaken: see the diagram
	// above.
	phase atomic.Uint32

	// owner is nil while the state holds no slot of the pool, so that such
	// a scope keeps no pool alive; it stays set when the pool takes a
	// parked state's slots, until the scope notices.
	owner *Pool[T]
	// words are the words the scope holds slots of. The current word is
	// words[cur]; words before it are used up, words after it are spare,
	// with spare free slots between them.
	words []heldWord[T]
	cur   int
	spare int
	// taken is the number of slots in words.
	taken int
	// batch is the number of slots the next refill takes.
	batch int
	// frees counts the objects freed by Release while the state was
	// registered; they are added to the pool's count when it leaves.
	frees uint64
	// objs are the objects handed out since the last release, in debug
	// builds only, which take slots one by one as Alloc does.
	objs []*T
	// isListed reports whether the state is in its scope's held list.
	isListed bool
	// hidx is the position in the pool's scopeHolders.holders, or -1 while
	// the scope holds no slot of the pool. Unlike the fields above, it
	// belongs to the pool: guarded by Pool.mu, since removing another
	// state from holders moves this one.
	hidx int
}

// Values of scopeSlots.phase.
const (
	scopeActive = iota
	scopeParked
	scopeTaken
)

// heldWord is the slots of one allocBits word held by a scope.
type heldWord[T any] struct {
	s    *slab[T]
	base uint32 // the word's first slot, a multiple of 64
	mask uint64 // the slots held: bit k is slot base+k
}

// scopeFirstBytes is about the size of a scope's first batch of slots of a
// pool after each Release (at least one slot): small, so that scopes that
// allocate one large object each take memory in proportion.
const scopeFirstBytes = 1 << 10

// firstBatch returns the slots of a first batch for objects of size bytes.
func firstBatch(size uintptr) int { return int(max(1, min(64, scopeFirstBytes/size))) }

// keepSlots returns the most slots Release keeps for objects of size bytes.
func keepSlots(size uintptr) int { return int(max(1, scopeKeepBytes/size)) }

// scopeSlotsOf returns st's state for p, making it on first use.
func scopeSlotsOf[T any](st *scopeState, p *Pool[T]) *scopeSlots[T] {
	i := p.sc.idx.Load()
	if i == 0 {
		i = denseIndex(&scopeIndexes, &p.sc.idx, p)
	}
	if int(i) >= len(st.ents) {
		ents := make([]*scopeHot, max(int(i)+1, 2*len(st.ents), 16))
		n := copy(ents, st.ents)
		for k := range ents[n:] {
			ents[n+k] = &noScopeSlots
		}
		st.ents = ents
	}
	if h := st.ents[i]; h == &noScopeSlots || h.id != p.id {
		// First use of p, or the state was left by a collected pool
		// whose index p now has: that pool's state held nothing.
		b := &scopeSlots[T]{cur: -1, hidx: -1}
		b.id, b.size = p.id, p.size
		st.ents[i] = &b.scopeHot
	}
	return (*scopeSlots[T])(unsafe.Pointer(st.ents[i]))
}

// allocInSlots is AllocIn's slow path in default builds: the scope's
// current word is used up, or the state is parked or new. Moving into a
// word takes its slots' memory from the lease's limit.
func (p *Pool[T]) allocInSlots(st *scopeState, b *scopeSlots[T]) (*T, error) {
	if b.phase.Load() != scopeActive {
		b.unpark()
	}
	if b.free == 0 {
		if b.cur+1 >= len(b.words) {
			p.refillScope(st, b)
		}
		w := &b.words[b.cur+1]
		if n := uintptr(bits.OnesCount64(w.mask)) * p.size; !st.take(n) {
			if p.bound != 0 {
				p.live.Add(-1)
			}
			return nil, st.limitError(opAllocIn, p.owner.typeName, n)
		}
		b.nextWord()
	}
	f := b.free
	j := bits.TrailingZeros64(f)
	b.free = f & (f - 1)
	w := &b.words[b.cur]
	x := &w.s.mem[w.base+uint32(j)]
	if race.Enabled {
		race.Acquire(unsafe.Pointer(x)) // as in pop
	}
	if asan.Enabled {
		asanAllocIn(unsafe.Pointer(x), p.size)
	}
	return x, nil
}

// refillScope takes a batch of slots from p for b, whose slots are used
// up, as spare words after its current one.
func (p *Pool[T]) refillScope(st *scopeState, b *scopeSlots[T]) {
	n := p.takeScopeSlots(b)
	if n == 0 && p.bound != 0 {
		// A bounded pool that may not grow has admitted this
		// allocation, so free slots sit in per-P caches: take them back,
		// as allocDrained does.
		p.drainCaches()
		n = p.takeScopeSlots(b)
	}
	st.list(b)
	if n == 0 {
		if p.bound != 0 {
			p.live.Add(-1)
		}
		panic(scopeNoSlotError(p.owner.name))
	}
}

// nextWord makes the next spare word current, if there is one.
func (b *scopeSlots[T]) nextWord() bool {
	if b.cur+1 >= len(b.words) {
		return false
	}
	b.cur++
	w := &b.words[b.cur]
	b.mem = unsafe.Pointer(&w.s.mem[w.base])
	b.spare -= bits.OnesCount64(w.mask)
	b.free = w.mask
	return true
}

func (b *scopeSlots[T]) listed() bool      { return b.isListed }
func (b *scopeSlots[T]) setListed(on bool) { b.isListed = on }

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
// them, and they become free slots of the scope again, with no lock. Then
// it keeps a prefix of the words holding about as many slots as it handed
// out (see keepSlots), gives the others back under one lock acquisition,
// and parks the state; or it gives all of them back if b handed out nothing
// since the last release: the scope no longer uses the pool. It returns
// the bytes of the objects freed, reports whether b still holds slots, and
// returns the first panic of the pool's reset function.
func (b *scopeSlots[T]) release() (_ int64, _ bool, failed *resetPanic) {
	if debugMode {
		return b.releaseDebug()
	}
	p := b.owner
	if p == nil || b.phase.Load() != scopeActive && !b.unpark() {
		b.isListed = false
		return 0, false, nil
	}
	used := 0
	for k := 0; k <= b.cur; k++ {
		w := &b.words[k]
		u := b.used(k)
		used += bits.OnesCount64(u)
		failed = zeroUsed(p, w.s, w.base, u, failed)
	}
	b.batch = 0
	if used == 0 {
		b.giveBack(b.words, true)
		b.isListed = false
		return 0, false, failed
	}
	if p.bound != 0 {
		p.live.Add(-int64(used))
	}
	b.frees += uint64(used)

	// Keep a prefix of the words holding about as many slots as were used,
	// trimming the last kept word to the slots needed.
	keep := min(used, keepSlots(p.size))
	k, kept := 0, 0
	for k < len(b.words) && kept < keep {
		w := &b.words[k]
		if n := bits.OnesCount64(w.mask); kept+n > keep {
			// Keep the lowest slots of the word, give back the rest.
			m := lowestBits(w.mask, keep-kept)
			b.giveBackSlots(w, w.mask&^m)
			w.mask = m
		}
		kept += bits.OnesCount64(w.mask)
		k++
	}
	if k < len(b.words) {
		b.giveBack(b.words[k:], false)
		b.words = b.words[:k]
	}
	// The next use moves into the kept words one at a time, taking each
	// from its lease's limit.
	b.cur = -1
	b.free = 0
	b.spare = kept
	// Park: AllocIn takes the slow path until it unparks, so that the
	// pool may take the slots back meanwhile.
	b.scopeHot.pool = nil
	b.phase.Store(scopeParked)
	return int64(used) * int64(p.size), true, failed
}

// lowestBits returns the n lowest set bits of m.
func lowestBits(m uint64, n int) uint64 {
	var out uint64
	for ; n > 0 && m != 0; n-- {
		low := m & -m
		out |= low
		m &^= low
	}
	return out
}

// unpark makes a parked state active again and reports whether it still
// holds its slots. If the pool took them back, unpark waits for the pool to
// be done with them and empties the state.
func (b *scopeSlots[T]) unpark() bool {
	p := b.owner
	if b.phase.CompareAndSwap(scopeParked, scopeActive) {
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
	b.phase.Store(scopeActive)
	return false
}

// reset empties a state that holds no slot any more.
func (b *scopeSlots[T]) reset() {
	clear(b.words)
	b.words = b.words[:0]
	b.cur, b.spare, b.free, b.taken, b.frees, b.batch = -1, 0, 0, 0, 0, 0
	b.mem, b.scopeHot.pool, b.owner = nil, nil, nil
}

// giveBack returns the words ws, whose slots must all be free, to the pool.
// If all is set, ws are all of b's words and b leaves the pool's holders.
func (b *scopeSlots[T]) giveBack(ws []heldWord[T], all bool) {
	p := b.owner
	p.mu.Lock()
	for _, w := range ws {
		p.giveBackLocked(w.s, w.base, w.mask)
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

// giveBackSlots returns the free slots mask of the held word w to the pool.
func (b *scopeSlots[T]) giveBackSlots(w *heldWord[T], mask uint64) {
	p := b.owner
	p.mu.Lock()
	p.giveBackLocked(w.s, w.base, mask)
	p.mu.Unlock()
	b.taken -= bits.OnesCount64(mask)
}

// abandon gives back the free slots of a state whose scope was collected.
// The objects it handed out since the last release stay allocated: the
// program may still use them, and Stats counts them as Live.
func (b *scopeSlots[T]) abandon() {
	p := b.owner
	if p == nil {
		return
	}
	switch b.phase.Load() {
	case scopeTaken:
		return // the pool took the slots back already
	case scopeParked:
		if !b.phase.CompareAndSwap(scopeParked, scopeTaken) {
			return
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, w := range b.words {
		p.giveBackLocked(w.s, w.base, w.mask&^b.used(k))
	}
	p.sc.removeLocked(b)
}

// zeroUsed zeroes the slots used of the word at base of s, a run of
// adjacent slots at a time, with typed clears (write barriers included, as
// the GC requires for pointer words), or runs p's reset function on each if
// it has one (WithReset). The slots stay the scope's, in the scoped state.
// It returns failed with the panics of the reset function added (see
// reset.go).
func zeroUsed[T any](p *Pool[T], s *slab[T], base uint32, used uint64, failed *resetPanic) *resetPanic {
	for u := used; u != 0; {
		lo := uint32(bits.TrailingZeros64(u))
		n := uint32(bits.TrailingZeros64(^(u >> lo))) // length of the run at lo
		i, j := base+lo, base+lo+n
		if race.Enabled {
			// A later use from another goroutine races with this
			// Release, as with a Free.
			race.WriteRange(unsafe.Pointer(&s.mem[i]), int(n)*int(unsafe.Sizeof(s.mem[0])))
		}
		if p.reset != nil {
			for k := i; k < j; k++ {
				if v := p.resetScoped(slotRef[T]{s, k}); v != nil {
					failed = addResetPanic(failed, p.resetError(v, slotRef[T]{s, k}, "the scope's Release"))
				}
			}
		} else {
			clear(s.mem[i:j])
		}
		if race.Enabled {
			for k := i; k < j; k++ {
				race.ReleaseMerge(unsafe.Pointer(&s.mem[k]))
			}
		}
		if asan.Enabled {
			asanReleased(unsafe.Pointer(&s.mem[i]), int(n), unsafe.Sizeof(s.mem[0]))
		}
		u &^= (1<<n - 1) << lo
	}
	return failed
}

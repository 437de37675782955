package slab

import (
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/race"
)

// A scope's state for one pool (scopeSlots) and the pool's side of it
// (scopeDepot).
//
// A scope takes free slots from the central free set in batches, a few
// slots of one allocBits word at a time: the first batch of a use of the
// scope holds about scopeFirstBytes, and each next one twice as many, up to
// a whole word. Taken slots are marked stateScoped at once, and stay so
// while the scope holds them, handed out or not: AllocIn writes no state
// byte, and Pool.Free of any of them panics with ErrScoped. Release zeroes
// the objects handed out, keeps as many slots as this use of the scope
// handed out (up to ScopeKeepBytes), and gives the rest back, marked free.
//
// A state's life, in scopeSlots.parked:
//
//	        AllocIn (owner)           Release (owner)
//	active ----------------> active ---------------> parked
//	  ^                                                 |  \
//	  |          AllocIn: CAS parked->active (owner)    |   \ drain or Trim:
//	  +-------------------------------------------------+    \ CAS parked->taken (pool)
//	  |                                                       v
//	  +------ AllocIn: sees taken, empties the state ------ taken
//
// While parked, the state's free slots may be taken back by the pool, as a
// per-P cache's are by a drain: only the CAS winner touches them. A state
// that handed out nothing since the last Release gives everything back and
// leaves the pool (Release returns false); a scope that is collected gives
// back its free slots (abandon).

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

// scopeSlots is a scope's state for one Pool[T]: the slots it took from the
// pool and which of them it has handed out. Only the scope's goroutine
// changes it; Stats reads free, spare, taken and frees while the state is
// registered with the pool (scopeDepot.holders), without synchronisation, as
// it reads the per-P caches' counts. A parked state's words may also be
// taken back by the pool (see parked).
type scopeSlots[T any] struct {
	scopeHot // first, so that a *scopeSlots[T] is a *scopeHot

	// parked is scopeActive, scopeParked or scopeTaken: see the diagram
	// above.
	parked atomic.Uint32

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

// heldWord is the slots of one allocBits word held by a scope.
type heldWord[T any] struct {
	s    *span[T]
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
func keepSlots(size uintptr) int { return int(max(1, ScopeKeepBytes/size)) }

// scopeDepot is a Pool's side of scopes.
type scopeDepot[T any] struct {
	// idx is the pool's dense scope index, the position of its entry in
	// scopeState.ents; 0 until the first AllocIn. It is given back when the
	// pool is collected, so indexes stay as few as the pools alive. Every
	// AllocIn reads it: the padding keeps it off the cache lines of fields
	// that the slow paths write.
	_   [64]byte
	idx atomic.Uint32
	_   [60]byte

	// The fields below are guarded by Pool.mu.

	// holders are the scopes' states that hold slots of this pool.
	holders []*scopeSlots[T]
	// nholders is len(holders), for reclaimScopesLocked to return at once
	// when no scope holds slots, as for a pool used without scopes.
	nholders atomic.Int32
	// frees counts the objects freed by scopes' Release, for states that
	// are no longer holders.
	frees uint64
}

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

// allocInSlots is AllocIn's slow path in release builds: the scope's
// current word is used up, or the state is parked or new.
func (p *Pool[T]) allocInSlots(st *scopeState, b *scopeSlots[T]) *T {
	if b.parked.Load() != scopeActive {
		b.unpark()
	}
	if b.free == 0 && !b.nextWord() {
		p.refillScope(st, b)
	}
	f := b.free
	j := bits.TrailingZeros64(f)
	b.free = f & (f - 1)
	w := &b.words[b.cur]
	x := &w.s.mem[w.base+uint32(j)]
	if race.Enabled {
		race.Acquire(unsafe.Pointer(x)) // as in pop
	}
	return x
}

// refillScope takes a batch of slots from p for b, whose slots are used
// up, and makes the first of the new words current.
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
		panic(fmt.Errorf("slab: internal error: pool %q admitted an allocation in a scope but has no free slot", p.owner.name))
	}
	b.nextWord()
}

// registerLocked makes b one of p's holders, if it is not.
func (p *Pool[T]) registerLocked(b *scopeSlots[T]) {
	if b.hidx >= 0 {
		return
	}
	b.owner = p
	if p.bound == 0 && !debugMode {
		b.scopeHot.pool = unsafe.Pointer(p)
	}
	b.hidx = len(p.sc.holders)
	p.sc.holders = append(p.sc.holders, b)
	p.sc.nholders.Store(int32(len(p.sc.holders)))
}

// takeScopeSlots takes b's next batch of slots from p, marks them
// stateScoped and appends them to b.words, and registers b with p. It
// returns the slots taken.
func (p *Pool[T]) takeScopeSlots(b *scopeSlots[T]) int {
	if b.batch == 0 {
		b.batch = firstBatch(p.size)
	}
	want := b.batch
	b.batch = min(2*b.batch, 64)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.registerLocked(b)
	n := 0
	for k := 0; n < want && k < 4; k++ {
		if k > 0 && len(p.partial) == 0 {
			break // do not grow the pool for the rest of a batch
		}
		s, base, mask := p.takeWordLocked(want - n)
		if mask == 0 {
			break
		}
		w := &s.words[base/64]
		for f := mask; f != 0; f &= f - 1 {
			j := bits.TrailingZeros64(f)
			if race.Enabled {
				// The last Free of the slot, on whatever goroutine,
				// happens before this, as before an Alloc.
				race.Acquire(unsafe.Pointer(&s.mem[int(base)+j]))
			}
			w.state[j] = stateScoped
		}
		b.words = append(b.words, heldWord[T]{s, base, mask})
		n += bits.OnesCount64(mask)
	}
	b.taken += n
	b.spare += n
	return n
}

// giveBackLocked gives the slots mask of the word at base of s, which a
// scope holds and has not handed out, back to the pool.
func (p *Pool[T]) giveBackLocked(s *span[T], base uint32, mask uint64) {
	w := &s.words[base/64]
	for f := mask; f != 0; f &= f - 1 {
		w.state[bits.TrailingZeros64(f)] = stateFree
	}
	p.returnWordLocked(s, base, mask)
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
// since the last release: the scope no longer uses the pool. It reports
// whether b still holds slots.
func (b *scopeSlots[T]) release() bool {
	if debugMode {
		return b.releaseDebug()
	}
	p := b.owner
	if p == nil || b.parked.Load() != scopeActive && !b.unpark() {
		b.isListed = false
		return false
	}
	used := 0
	for k := 0; k <= b.cur; k++ {
		w := &b.words[k]
		u := b.used(k)
		used += bits.OnesCount64(u)
		releaseScoped(w.s, w.base, u, p.reset)
	}
	b.batch = 0
	if used == 0 {
		b.giveBack(b.words, true)
		b.isListed = false
		return false
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
	b.cur = -1
	b.free = 0
	b.spare = kept
	b.nextWord()
	// Park: AllocIn takes the slow path until it unparks, so that the
	// pool may take the slots back meanwhile.
	b.scopeHot.pool = nil
	b.parked.Store(scopeParked)
	return true
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

// reclaimScopesLocked takes back the slots of every parked scope state, as
// drainCaches takes back the slots of the per-P caches: they are all free.
func (p *Pool[T]) reclaimScopesLocked() {
	if p.sc.nholders.Load() == 0 {
		return
	}
	for i := len(p.sc.holders) - 1; i >= 0; i-- {
		b := p.sc.holders[i]
		if !b.parked.CompareAndSwap(scopeParked, scopeTaken) {
			continue
		}
		for _, w := range b.words {
			p.giveBackLocked(w.s, w.base, w.mask)
		}
		p.sc.removeLocked(b)
	}
}

// abandon gives back the free slots of a state whose scope was collected.
// The objects it handed out since the last release stay allocated: the
// program may still use them, and Stats counts them as Live.
func (b *scopeSlots[T]) abandon() {
	p := b.owner
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
		p.giveBackLocked(w.s, w.base, w.mask&^b.used(k))
	}
	p.sc.removeLocked(b)
}

// releaseScoped zeroes the slots used of the word at base of s, a run of
// adjacent slots at a time, with typed clears (write barriers included, as
// the GC requires for pointer words), or runs reset on each if the pool has
// one (WithReset). The slots stay the scope's, in the scoped state.
func releaseScoped[T any](s *span[T], base uint32, used uint64, reset func(*T)) {
	for u := used; u != 0; {
		lo := uint32(bits.TrailingZeros64(u))
		n := uint32(bits.TrailingZeros64(^(u >> lo))) // length of the run at lo
		i, j := base+lo, base+lo+n
		if race.Enabled {
			// A later use from another goroutine races with this
			// Release, as with a Free.
			race.WriteRange(unsafe.Pointer(&s.mem[i]), int(n)*int(unsafe.Sizeof(s.mem[0])))
		}
		if reset != nil {
			for k := i; k < j; k++ {
				reset(&s.mem[k])
			}
		} else {
			clear(s.mem[i:j])
		}
		if race.Enabled {
			for k := i; k < j; k++ {
				race.ReleaseMerge(unsafe.Pointer(&s.mem[k]))
			}
		}
		u &^= (1<<n - 1) << lo
	}
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

// denseIndexes hands out small indexes to the pools (and the slice element
// types) that scopes allocate from, so that a scope finds its state for one
// in a slice, and takes back those of collected pools.
type denseIndexes struct {
	mu   sync.Mutex
	next uint32 // the lowest index never assigned, from 1
	free []uint32
}

// scopeIndexes gives pools their scopeDepot.idx.
var scopeIndexes denseIndexes

// denseIndex stores an index of d in idx, unless it holds one, and
// returns it. The index is taken back once owner is collected.
func denseIndex[P any](d *denseIndexes, idx *atomic.Uint32, owner *P) uint32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if i := idx.Load(); i != 0 {
		return i
	}
	var i uint32
	if k := len(d.free); k > 0 {
		i = d.free[k-1]
		d.free = d.free[:k-1]
	} else {
		d.next++
		i = d.next
	}
	idx.Store(i)
	// A collected pool is held by no scope (a scope holding its slots
	// references it), so its index is free for the next pool;
	// scopeHot.id tells the two apart.
	runtime.AddCleanup(owner, d.put, i)
	return i
}

func (d *denseIndexes) put(i uint32) {
	d.mu.Lock()
	d.free = append(d.free, i)
	d.mu.Unlock()
}

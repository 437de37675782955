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
// A scope takes free slots from each pool in batches, one allocBits word of a
// slab (up to 64 slots) per lock acquisition, and hands them out without any
// lock or atomic instruction; Release zeroes the objects it frees, a run of
// adjacent slots at a time, and gives each word back to its pool under one
// lock acquisition. The free slots that a scope holds count in
// Stats.ScopeFree; its objects count in Stats.Live and Stats.Scoped.
//
// Objects allocated in a scope must not be used after Release, and must not
// be passed to Pool.Free, which panics with ErrScoped. They may be read and
// written by other goroutines while the scope is live.
//
// A Scope is not safe for concurrent use: AllocIn, TryAllocIn, Release and Len
// on one scope must not run concurrently, as is natural for the scope of one
// request on its handler's goroutine. Different scopes may allocate from the
// same pool concurrently. The zero Scope is empty and ready to use. A Scope
// must not be copied after first use.
//
// After Release a scope is empty and may be used again, and it keeps the
// small tables it built, so a scope reused for request after request
// allocates no memory of its own; recycle scopes (one per worker goroutine,
// or through a sync.Pool as slabhttp does) rather than calling NewScope per
// request. An empty scope references no pool and holds no slot: dropping it
// leaks nothing. A scope that is dropped without Release leaks its objects
// and its free slots: they stay assigned, and count in Stats.Live and
// Stats.ScopeFree of their pools, for the life of the pool; nothing frees
// them, since the program may still use the objects.
type Scope struct {
	_ noCopy

	// ents holds the scope's state for each pool it has allocated from,
	// indexed by the pool's dense scope index (scopeDepot.idx): a
	// *scopeSlots[T] of that pool, or nil. Index 0 is never assigned.
	ents []unsafe.Pointer
	// active lists the pools' states that hold slots, in order of first use
	// since the last Release.
	active []scopeHolder
}

// scopeHolder is the type-erased face of a scopeSlots.
type scopeHolder interface {
	release()
	live() int
}

// scopeHot is the part of a scopeSlots that AllocIn reads; it does not
// depend on T, so the fast path needs nothing from the type's dictionary.
type scopeHot struct {
	// id is the pool's id. Ids are never reused, so a state left behind
	// by a collected pool whose dense index was given to another pool does
	// not match the new one; a match proves the state is a scopeSlots[T]
	// of this pool.
	id uint64
	// free has bit k set if slot k of the current word is the scope's and
	// not yet handed out; AllocIn hands out the lowest.
	free uint64
	// mem and state point to slot 0 of the current word and to its state
	// byte. Only slots whose bit is set are reached through them.
	mem, state unsafe.Pointer
}

// scopeSlots is a Scope's state for one Pool[T]: the slots it took from the
// pool and which of them it has handed out. Only the scope's goroutine
// touches it, except that Stats reads free and spare under the pool's lock
// while the scope is registered with the pool (see scopeDepot).
type scopeSlots[T any] struct {
	scopeHot // first, so that a *scopeSlots[T] is a *scopeHot

	// pool is nil while the scope holds no slot of the pool, so an empty
	// scope keeps no pool alive.
	pool *Pool[T]
	// words are the words taken since the last Release. The current word
	// is words[cur]; words before it are used up, words after it (taken in
	// the same batch) are spare, with spare free slots between them.
	words []heldWord[T]
	cur   int
	spare int
	// taken is the number of slots in words, changed under Pool.mu.
	taken int
	// hidx is the position in the pool's scopeDepot.holders, or -1.
	hidx int
}

// heldWord is one allocBits word's worth of slots taken by a scope.
type heldWord[T any] struct {
	s    *span[T]
	base uint32 // the word's first slot, a multiple of 64
	mask uint64 // the slots taken: bit k is slot base+k
}

// scopeBatch is the number of slots a scope asks for per lock acquisition.
// A word with fewer free slots is taken with the next ones, up to
// scopeMaxWords words, so that a fragmented slab does not cost one lock
// acquisition per handful of slots.
const (
	scopeBatch    = 32
	scopeMaxWords = 8
)

// scopeDepot is a Pool's side of scopes.
type scopeDepot[T any] struct {
	// idx is the pool's dense scope index, the position of its entry in
	// Scope.ents; 0 until the first AllocIn. It is given back when the pool
	// is collected, so indexes stay as few as the pools alive.
	idx atomic.Uint32

	// holders are the scopes' states that hold slots of this pool; guarded
	// by Pool.mu. Stats reads them.
	holders []*scopeSlots[T]
}

// NewScope returns an empty scope; see Scope for how to recycle scopes.
func NewScope() *Scope { return new(Scope) }

// AllocIn returns a pointer to a zeroed T owned by s: s.Release frees it.
// AllocIn takes no lock and executes no atomic instruction unless s has used
// up the slots it took from p, or p is bounded by WithMaxObjects (then one
// atomic add counts the object, as in Alloc).
//
// AllocIn panics with an error wrapping ErrExhausted if p is bounded and the
// bound is reached (use TryAllocIn to get an error instead), and with one
// wrapping ErrReleased if s is nil (as slab.ScopeFrom returns for a context
// that carries no scope).
func (p *Pool[T]) AllocIn(s *Scope) *T {
	if !debugMode && p.bound == 0 && s != nil {
		if i := uint(p.sc.idx.Load()); i < uint(len(s.ents)) {
			if h := (*scopeHot)(s.ents[i]); h != nil && h.id == p.id {
				if f := h.free; f != 0 {
					j := uintptr(bits.TrailingZeros64(f))
					h.free = f & (f - 1)
					*(*uint8)(unsafe.Add(h.state, j)) = stateScoped
					x := (*T)(unsafe.Add(h.mem, j*p.size))
					if race.Enabled {
						race.Acquire(unsafe.Pointer(x))
					}
					return x
				}
			}
		}
	}
	return p.allocInSlow(s)
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
	if b.free == 0 && !b.nextWord() {
		p.refillScope(s, b)
	}
	f := b.free
	j := bits.TrailingZeros64(f)
	b.free = f & (f - 1)
	w := &b.words[b.cur]
	r := slotRef[T]{w.s, w.base + uint32(j)}
	r.s.state[r.i] = stateScoped
	x := r.ptr()
	if race.Enabled {
		race.Acquire(unsafe.Pointer(x))
	}
	if debugMode {
		p.debugAlloc(r)
	}
	return x, nil
}

// scopeSlotsOf returns s's state for p, making it on first use.
func scopeSlotsOf[T any](s *Scope, p *Pool[T]) *scopeSlots[T] {
	i := p.sc.idx.Load()
	if i == 0 {
		i = p.scopeIndex()
	}
	if int(i) >= len(s.ents) {
		ents := make([]unsafe.Pointer, max(int(i)+1, 2*len(s.ents), 16))
		copy(ents, s.ents)
		s.ents = ents
	}
	if h := (*scopeHot)(s.ents[i]); h == nil || h.id != p.id {
		// First use of p, or the state was left by a collected pool
		// whose index p now has: that pool's state held nothing.
		b := &scopeSlots[T]{cur: -1, hidx: -1}
		b.id = p.id
		s.ents[i] = unsafe.Pointer(b)
	}
	return (*scopeSlots[T])(s.ents[i])
}

// refillScope takes a batch of words from p for b, whose words are used up,
// and makes the first one current.
func (p *Pool[T]) refillScope(s *Scope, b *scopeSlots[T]) {
	first := b.pool == nil
	n := p.takeScopeWords(b)
	if n == 0 && p.bound != 0 {
		// A bounded pool that may not grow has admitted this
		// allocation, so free slots sit in per-P caches: take them back,
		// as allocDrained does.
		p.drainCaches()
		n = p.takeScopeWords(b)
	}
	if first {
		s.active = append(s.active, b)
	}
	if n == 0 {
		if p.bound != 0 {
			p.live.Add(-1)
		}
		panic(fmt.Errorf("slab: internal error: pool %q admitted an allocation in a scope but has no free slot", p.owner.name))
	}
	b.nextWord()
}

// takeScopeWords appends words to b.words under p's lock until it holds
// scopeBatch new slots, and registers b with p. It returns the slots taken.
func (p *Pool[T]) takeScopeWords(b *scopeSlots[T]) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if b.hidx < 0 {
		b.pool = p
		b.hidx = len(p.sc.holders)
		p.sc.holders = append(p.sc.holders, b)
	}
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
	b.state = unsafe.Pointer(&w.s.state[w.base])
	b.spare -= bits.OnesCount64(w.mask)
	b.free = w.mask
	return true
}

// Release frees every object allocated in s, in every pool, and leaves s
// empty and ready for reuse. The objects are zeroed, so nothing they
// referenced stays reachable through the pools; they must not be used after
// Release. Release of an empty scope, such as a second Release, does nothing;
// so does Release of a nil *Scope.
func (s *Scope) Release() {
	if s == nil {
		return
	}
	for i, h := range s.active {
		s.active[i] = nil
		h.release()
	}
	s.active = s.active[:0]
}

// Len returns the number of objects allocated in s since its last Release.
func (s *Scope) Len() int {
	n := 0
	for _, h := range s.active {
		n += h.live()
	}
	return n
}

// live is the number of objects b has handed out.
func (b *scopeSlots[T]) live() int { return b.taken - b.spare - bits.OnesCount64(b.free) }

// release frees the objects b handed out and gives all its slots back to the
// pool: zeroing outside the lock, then one lock acquisition for every word.
func (b *scopeSlots[T]) release() {
	p := b.pool
	if p == nil {
		return
	}
	used, frees := 0, 0
	for k := range b.words {
		w := &b.words[k]
		var u uint64
		switch {
		case k < b.cur:
			u = w.mask
		case k == b.cur:
			u = w.mask &^ b.free
		}
		used += bits.OnesCount64(u)
		if debugMode {
			w.mask = p.releaseScopedDebug(w.s, w.base, u, w.mask)
			frees += bits.OnesCount64(u & w.mask)
		} else {
			releaseScoped(w.s, w.base, u)
		}
	}
	if !debugMode {
		frees = used
	}
	p.mu.Lock()
	for k := range b.words {
		w := &b.words[k]
		p.returnWordLocked(w.s, w.base, w.mask)
	}
	p.slowFrees += uint64(frees)
	p.sc.removeLocked(b)
	b.taken = 0
	p.mu.Unlock()
	if p.bound != 0 {
		p.live.Add(-int64(used))
	}
	clear(b.words)
	b.words = b.words[:0]
	b.cur = -1
	b.spare = 0
	b.free = 0
	b.mem = nil
	b.state = nil
	b.pool = nil
}

// releaseScoped frees the slots used of the word at base of s: it zeroes
// them with typed clears (write barriers included, as the GC requires for
// pointer words) a run of adjacent slots at a time, and marks them free.
func releaseScoped[T any](s *span[T], base uint32, used uint64) {
	for u := used; u != 0; {
		lo := uint32(bits.TrailingZeros64(u))
		n := uint32(bits.TrailingZeros64(^(u >> lo))) // length of the run at lo
		i, j := base+lo, base+lo+n
		clear(s.mem[i:j])
		clear(s.state[i:j]) // stateFree
		if race.Enabled {
			for k := i; k < j; k++ {
				race.ReleaseMerge(unsafe.Pointer(&s.mem[k]))
			}
		}
		u &^= (1<<n - 1) << lo
	}
}

// releaseScopedDebug is releaseScoped for debug builds: each slot takes the
// path of Free, through debugFree, so that a use after Release is caught as
// any use after free is. It returns mask without the slots that debugFree
// kept (in quarantine): those stay assigned until the debug build gives them
// back, and are counted as freed by it, as for Free.
func (p *Pool[T]) releaseScopedDebug(s *span[T], base uint32, used, mask uint64) uint64 {
	for u := used; u != 0; u &= u - 1 {
		k := uint32(bits.TrailingZeros64(u))
		r := slotRef[T]{s, base + k}
		s.state[r.i] = stateFree
		if p.debugFree(r) {
			mask &^= 1 << k
			continue
		}
		x := r.ptr()
		var zero T
		*x = zero
		if race.Enabled {
			race.ReleaseMerge(unsafe.Pointer(x))
		}
	}
	return mask
}

// removeLocked unregisters b, which holds no slot any more.
func (d *scopeDepot[T]) removeLocked(b *scopeSlots[T]) {
	i, last := b.hidx, len(d.holders)-1
	d.holders[i] = d.holders[last]
	d.holders[i].hidx = i
	d.holders[last] = nil
	d.holders = d.holders[:last]
	b.hidx = -1
}

// freeLocked is the number of free slots that scopes hold. Each scope changes
// its counts without synchronisation, so a concurrent read sees recent values
// (exact once the scopes' goroutines are synchronised with the caller), and
// a stale one is too high, never too low: a bounded pool may then grow a
// little early, never stall.
func (d *scopeDepot[T]) freeLocked() int {
	n := 0
	if race.Enabled {
		race.Disable()
		defer race.Enable()
	}
	for _, b := range d.holders {
		n += bits.OnesCount64(b.free) + b.spare
	}
	return n
}

// countsLocked returns the objects that scopes have handed out and the free
// slots they hold, read as freeLocked does.
func (d *scopeDepot[T]) countsLocked() (scoped, free int) {
	if race.Enabled {
		race.Disable()
		defer race.Enable()
	}
	for _, b := range d.holders {
		f := bits.OnesCount64(b.free) + b.spare
		free += f
		scoped += b.taken - f
	}
	return scoped, free
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
	// A collected pool is in no scope's active list (a scope holding its
	// slots references it), so its index is free for the next pool;
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

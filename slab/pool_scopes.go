package slab

import (
	"math/bits"
	"sync/atomic"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/race"
)

// poolScopes is a Pool's side of scopes: the scopes' states that hold
// slots of the pool (see scopeSlots for a state's life), and the pool's
// dense index by which a scope finds its state for the pool.
type poolScopes[T any] struct {
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
func (p *Pool[T]) giveBackLocked(s *slab[T], base uint32, mask uint64) {
	w := &s.words[base/64]
	for f := mask; f != 0; f &= f - 1 {
		w.state[bits.TrailingZeros64(f)] = stateFree
	}
	p.returnWordLocked(s, base, mask)
}

// reclaimScopesLocked takes back the slots of every parked scope state, as
// drainCaches takes back the slots of the per-P caches: they are all free.
func (p *Pool[T]) reclaimScopesLocked() {
	if p.sc.nholders.Load() == 0 {
		return
	}
	for i := len(p.sc.holders) - 1; i >= 0; i-- {
		b := p.sc.holders[i]
		if !b.phase.CompareAndSwap(scopeParked, scopeTaken) {
			continue
		}
		for _, w := range b.words {
			p.giveBackLocked(w.s, w.base, w.mask)
		}
		p.sc.removeLocked(b)
	}
}

// removeLocked unregisters b, which leaves the pool, and keeps its count of
// frees.
func (d *poolScopes[T]) removeLocked(b *scopeSlots[T]) {
	i, last := b.hidx, len(d.holders)-1
	d.holders[i] = d.holders[last]
	d.holders[i].hidx = i
	d.holders[last] = nil
	d.holders = d.holders[:last]
	d.nholders.Store(int32(last))
	b.hidx = -1
	d.frees += b.frees // the owner resets b.frees when it empties b
}

// freeSlotsLocked returns the number of free slots that scopes hold. Each
// scope changes its counts without synchronisation, so a concurrent read
// sees recent values (exact once the scopes' goroutines are synchronised
// with the caller), and a stale one is too high, never too low: a bounded
// pool may then grow a little early, never stall. The reads are word-sized and hidden from the
// race detector (go:norace), like the per-P caches' counts.
//
//go:norace
func (d *poolScopes[T]) freeSlotsLocked() int {
	n := 0
	for _, b := range d.holders {
		n += bits.OnesCount64(b.free) + b.spare
	}
	return n
}

// countsLocked returns the objects that scopes have handed out, the free
// slots they hold and the objects they have freed, read as freeSlotsLocked
// does.
//
//go:norace
func (d *poolScopes[T]) countsLocked() (scoped, free int, frees uint64) {
	frees = d.frees
	for _, b := range d.holders {
		f := bits.OnesCount64(b.free) + b.spare
		free += f
		scoped += b.taken - f + len(b.objs)
		frees += b.frees
	}
	return scoped, free, frees
}

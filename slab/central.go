package slab

import (
	"math"
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/bits-and-blooms/bitset"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/slabmap"
)

// The central free set: the clear bits of the slabs' allocBits, in the
// words that it owns, under Pool.mu. Caches take whole words from it, scopes
// batches of slots, and both give them back; slots freed into the inboxes
// of its words come back through collectInboxesLocked.

// takeLocked assigns up to len(buf) free slots into buf and returns how many.
// It grows the pool by one slab when no slab has a free slot, and returns at
// least one slot unless a bounded pool may not grow.
func (p *Pool[T]) takeLocked(buf []slotRef[T]) int {
	n := 0
	for n < len(buf) {
		if len(p.partial) == 0 {
			p.collectInboxesLocked()
		}
		if len(p.partial) == 0 {
			if n > 0 || !p.mayGrowLocked() {
				break
			}
			p.newSlabLocked()
		}
		s := p.partial[len(p.partial)-1]
		for n < len(buf) && s.nalloc < len(s.mem) {
			i, ok := s.allocBits.NextClear(s.freeindex)
			if !ok || i >= uint(len(s.mem)) {
				// nalloc disagrees with allocBits: recount rather than
				// fail with the lock held.
				p.recountLocked(s)
				break
			}
			s.allocBits.Set(i)
			s.nalloc++
			s.freeindex = i + 1
			buf[n] = slotRef[T]{s, uint32(i)}
			n++
		}
		s.idleGCs = 0
		if s.nalloc == len(s.mem) && s.partialIdx >= 0 {
			p.removePartialLocked(s)
		}
	}
	p.assigned += n
	p.highWater = max(p.highWater, p.assigned)
	return n
}

// recountLocked repairs s's nalloc from its allocBits.
func (p *Pool[T]) recountLocked(s *slab[T]) {
	n := int(s.allocBits.Count())
	p.assigned += n - s.nalloc
	s.nalloc = n
	if n == len(s.mem) && s.partialIdx >= 0 {
		p.removePartialLocked(s)
	}
}

// takeCacheWordLocked takes a word with free slots from the central free
// set for a per-P cache: every free slot of the word, and the slots in its
// inbox. The word's owner is ownerMoving until the cache installs it. It
// grows the pool like takeLocked, and returns nil only when a bounded pool
// may not grow.
func (p *Pool[T]) takeCacheWordLocked() (*word, uint64) {
	s, k, free := p.takeWordLocked(64)
	if free == 0 {
		return nil, 0
	}
	w := &s.words[k/64]
	w.owner.Store(ownerMoving)
	return w, p.collectLocked(w, free)
}

// takeWordLocked assigns the lowest want (at most 64) free slots of one
// allocBits word, the first word with a free slot in the slab that
// takeLocked would use, and returns the slab, the word's first slot and the
// slots taken (bit k = slot base+k). It grows the pool like takeLocked, and
// returns a zero mask only when a bounded pool may not grow. Caches take
// their words this way, and scopes their batches: one word costs the lock
// once for up to 64 slots.
func (p *Pool[T]) takeWordLocked(want int) (s *slab[T], base uint32, mask uint64) {
	if len(p.partial) == 0 {
		p.collectInboxesLocked()
	}
	for {
		if len(p.partial) == 0 {
			if !p.mayGrowLocked() {
				return nil, 0, 0
			}
			p.newSlabLocked()
		}
		s = p.partial[len(p.partial)-1]
		words := s.allocBits.Words()
		for w := s.freeindex / 64; w < uint(len(words)); w++ {
			free := ^words[w] & s.validMask(int(w))
			if free == 0 {
				continue
			}
			if want < 64 {
				free = lowestBits(free, want)
			}
			words[w] |= free
			k := bits.OnesCount64(free)
			s.nalloc += k
			// Every slot below freeindex was assigned, and so is every
			// slot of this word up to the last one taken, since they are
			// taken lowest first.
			s.freeindex = w*64 + uint(bits.Len64(free))
			s.idleGCs = 0
			if s.nalloc == len(s.mem) {
				p.removePartialLocked(s)
			}
			p.assigned += k
			p.highWater = max(p.highWater, p.assigned)
			return s, uint32(w * 64), free
		}
		// nalloc disagrees with allocBits: repair and look again.
		p.recountLocked(s)
	}
}

// returnWordLocked gives back free, zeroed slots of one word: mask is a
// subset of the slots of the word at base. The central free set takes them
// if it owns the word; if a cache owns it, they go to its inbox.
func (p *Pool[T]) returnWordLocked(s *slab[T], base uint32, mask uint64) {
	if mask == 0 {
		return
	}
	w := &s.words[base/64]
	if w.owner.Load() != ownerCentral {
		old := w.inbox.Or(mask)
		p.extra.inboxed.Add(uint64(bits.OnesCount64(mask &^ old)))
		return
	}
	aw := &s.allocBits.Words()[base/64]
	// A slot that is not assigned cannot be given back: only the second
	// Free of a racing pair, collected from an inbox, can bring one. It is
	// free once already.
	p.dropRacedLocked(bits.OnesCount64(mask &^ *aw))
	mask &= *aw
	*aw &^= mask
	k := bits.OnesCount64(mask)
	s.nalloc -= k
	if mask != 0 {
		s.freeindex = min(s.freeindex, uint(base)+uint(bits.TrailingZeros64(mask)))
	}
	if s.partialIdx < 0 && s.nalloc < len(s.mem) {
		s.partialIdx = len(p.partial)
		p.partial = append(p.partial, s)
	}
	p.assigned -= k
}

// collectLocked takes w's inbox for the central free set and adds it to
// free, the slots it is giving to a holder of w: see pcache.collect.
func (p *Pool[T]) collectLocked(w *word, free uint64) uint64 {
	if w.inbox.Load() == 0 {
		return free
	}
	in := w.inbox.Swap(0)
	p.extra.collected.Add(uint64(bits.OnesCount64(in)))
	valid := validFree(w, in&^free)
	p.dropRacedLocked(bits.OnesCount64(in &^ valid))
	return free | valid
}

// dropRacedLocked is pcache.dropRaced for the central free set.
func (p *Pool[T]) dropRacedLocked(n int) {
	if n == 0 {
		return
	}
	p.extra.frees.Add(-uint64(n))
	if p.bound != 0 {
		p.live.Add(int64(n))
	}
}

// collectInboxesLocked takes the inboxes of the central words on the
// pool's inbox list back into the central free set. Words that a cache
// owns by now are left to it.
func (p *Pool[T]) collectInboxesLocked() {
	w := p.inboxes.takeAll()
	for w != nil {
		next := w.next
		w.next = nil
		w.queued.Store(false)
		if w.owner.Load() == ownerCentral {
			if in := p.collectLocked(w, 0); in != 0 {
				p.returnWordLocked((*slab[T])(w.slab), w.base, in)
			}
		}
		w = next
	}
}

// An inboxList is a pool's list of central words whose inbox may hold
// slots: pushed without a lock by whoever makes such an inbox non-empty (or
// gives a word back), taken whole under Pool.mu by collectInboxesLocked.
type inboxList struct {
	head atomic.Pointer[word]
}

// push adds w unless it is queued already.
func (q *inboxList) push(w *word) {
	if !w.queued.CompareAndSwap(false, true) {
		return
	}
	for {
		old := q.head.Load()
		w.next = old
		if q.head.CompareAndSwap(old, w) {
			return
		}
	}
}

// takeAll empties the list and returns its first word; the words are
// linked by next. The caller must clear each word's queued flag after it
// has read the word's next.
func (q *inboxList) takeAll() *word { return q.head.Swap(nil) }

// mayGrowLocked reports whether the pool may add a slab. An unbounded pool
// always may. A bounded pool may while its slots not live could all sit in
// per-P caches: then a TryAlloc that the live count admitted finds a slot,
// and the pool holds at most the caches' words beyond its bound.
func (p *Pool[T]) mayGrowLocked() bool {
	if p.bound == 0 {
		return true
	}
	slack := p.ownedLimit * min(64, p.nelems) * runtime.GOMAXPROCS(0)
	// Written so that a bound near MaxInt64 cannot overflow.
	return int64(p.capacity-p.retired-p.heldLocked())-int64(slack) < p.bound
}

func (p *Pool[T]) newSlabLocked() *slab[T] {
	n := p.nelems
	mem := p.slabMem(n)
	s := &slab[T]{
		mem:        mem,
		words:      make([]word, (n+63)/64),
		states:     make([]wordState, (n+63)/64),
		allocBits:  bitset.New(uint(n)),
		partialIdx: -1,
	}
	base := s.base()
	s.bytes = uintptr(n) * p.size
	for k := range s.words {
		w := &s.words[k]
		w.slab = unsafe.Pointer(s)
		w.base = uint32(k * 64)
		w.nslots = uint32(min(64, n-k*64))
		w.mem = unsafe.Add(unsafe.Pointer(unsafe.SliceData(mem)), uintptr(k*64)*p.size) // &mem[k*64], or past k*64 guard-page strides
		w.state = &s.states[k]
	}
	s.meta = slabmap.Slab{
		Base:  base,
		Limit: base + uintptr(n)*p.size,
		Pool:  p.id,
		Slab:  unsafe.Pointer(s),
		Owner: p.owner,
	}
	if err := p.owner.add(&s.meta); err != nil {
		panic(slabIndexError(p.owner.name, err))
	}
	if debugMode {
		p.debugNewSlab(s)
	}

	if k := len(p.freePos); k > 0 {
		s.pos = p.freePos[k-1]
		p.freePos = p.freePos[:k-1]
		p.slabs[s.pos] = s
	} else {
		s.pos = len(p.slabs)
		p.slabs = append(p.slabs, s)
		p.genFloor = append(p.genFloor, p.genBase())
	}
	p.setRefTableLocked(s.pos, s)
	if asan.Enabled {
		p.asanNewSlab(s) // no slot is handed out yet: all are poisoned
	}

	p.capacity += n
	s.partialIdx = len(p.partial)
	p.partial = append(p.partial, s)
	return s
}

func (p *Pool[T]) removePartialLocked(s *slab[T]) {
	i := s.partialIdx
	last := len(p.partial) - 1
	p.partial[i] = p.partial[last]
	p.partial[i].partialIdx = i
	p.partial[last] = nil
	p.partial = p.partial[:last]
	s.partialIdx = -1
}

// discardSlabLocked hands an empty slab back to the GC: it leaves the
// address map, so a pointer into it no longer matches the pool, and the
// table. Its memory is collected once no pointer into it remains. (Stats
// and the messages call such a slab released, as users see it.)
func (p *Pool[T]) discardSlabLocked(s *slab[T]) {
	p.owner.remove(&s.meta)
	if asan.Enabled {
		p.asanTrimmedSlab(s)
	}
	if s.partialIdx >= 0 {
		p.removePartialLocked(s)
	}
	p.slabs[s.pos] = nil
	p.setRefTableLocked(s.pos, nil)

	// Refs into the slab must stay stale if a new slab takes its position.
	floor := p.genFloor[s.pos]
	if g := s.gens.Load(); g != nil {
		for i := range *g {
			floor = max(floor, uint64((*g)[i].Load())+1)
		}
	}
	p.genFloor[s.pos] = floor
	if floor <= math.MaxUint32 {
		p.freePos = append(p.freePos, s.pos)
	}
	p.capacity -= len(s.mem)
	p.trimmed++
	p.trimmedBytes += uint64(len(s.mem)) * uint64(p.size)
}

// genBase is the first Ref generation of a new slab position. Each pool
// starts at its own point in [1, 2^31), derived from its id, so that a Ref
// passed to the wrong pool of the same type almost never names a live slot
// there; up to 2^31 generations remain before a slot retires.
func (p *Pool[T]) genBase() uint64 {
	return (p.id*0x9E3779B97F4A7C15)>>33 | 1
}

// setRefTableLocked sets position pos of the table Deref reads, doubling the
// table when pos is past its end.
func (p *Pool[T]) setRefTableLocked(pos int, s *slab[T]) {
	t := *p.refTable.Load()
	if pos >= len(t) {
		bigger := make([]atomic.Pointer[slab[T]], max(2*len(t), pos+1, 8))
		for i := range t {
			bigger[i].Store(t[i].Load())
		}
		t = bigger
		p.refTable.Store(&t)
	}
	t[pos].Store(s)
}

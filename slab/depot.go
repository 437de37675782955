package slab

import (
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/bits-and-blooms/bitset"

	"github.com/slabtrack/slabtrack/internal/spanmap"
)

// The central free sets: the spans' allocBits, under Pool.mu. Caches and
// scopes take and return slots here in batches.

// takeLocked assigns up to len(buf) free slots into buf and returns how many.
// It grows the pool by one span when no span has a free slot, and returns at
// least one slot unless a bounded pool may not grow.
func (p *Pool[T]) takeLocked(buf []slotRef[T]) int {
	n := 0
	for n < len(buf) {
		if len(p.partial) == 0 {
			if debugMode && p.debugUnquarantineLocked() {
				continue // the debug quarantine gave slots back rather than grow
			}
			if n > 0 || !p.mayGrowLocked() {
				break
			}
			p.newSpanLocked()
		}
		s := p.partial[len(p.partial)-1]
		for n < len(buf) && s.nalloc < len(s.mem) {
			i, ok := s.allocBits.NextClear(s.freeindex)
			if !ok || i >= uint(len(s.mem)) {
				panic(fmt.Errorf("slab: internal error: span %d of pool %q counts %d of %d slots assigned but has no free slot",
					s.pos, p.owner.name, s.nalloc, len(s.mem)))
			}
			s.allocBits.Set(i)
			s.nalloc++
			s.freeindex = i + 1
			buf[n] = slotRef[T]{s, uint32(i)}
			n++
		}
		s.idleGCs = 0
		if s.nalloc == len(s.mem) {
			p.removePartialLocked(s)
		}
	}
	p.assigned += n
	p.highWater = max(p.highWater, p.assigned)
	return n
}

// returnLocked gives slots back to their spans' free sets. The slots must be
// zeroed already.
func (p *Pool[T]) returnLocked(refs []slotRef[T]) {
	for _, r := range refs {
		s := r.s
		if !s.allocBits.Test(uint(r.i)) {
			panic(fmt.Errorf("slab: internal error: slot %d of pool %q returned to its span twice", p.slotNum(r), p.owner.name))
		}
		s.allocBits.Clear(uint(r.i))
		s.nalloc--
		if uint(r.i) < s.freeindex {
			s.freeindex = uint(r.i)
		}
		if s.partialIdx < 0 {
			s.partialIdx = len(p.partial)
			p.partial = append(p.partial, s)
		}
	}
	p.assigned -= len(refs)
}

// mayGrowLocked reports whether the pool may add a span. An unbounded pool
// always may. A bounded pool may while its slots not live could all sit in
// per-P caches: then a TryAlloc that the live count admitted finds a slot,
// and the pool holds at most one cache load per P beyond its bound.
func (p *Pool[T]) mayGrowLocked() bool {
	if p.bound == 0 {
		return true
	}
	slack := magCap(p.size) * runtime.GOMAXPROCS(0)
	// Written so that a bound near MaxInt64 cannot overflow.
	return int64(p.capacity-p.retired-p.heldLocked())-int64(slack) < p.bound
}

func (p *Pool[T]) newSpanLocked() *span[T] {
	n := p.nelems
	mem := make([]T, n)
	s := &span[T]{
		mem:        mem,
		state:      make([]uint8, n),
		allocBits:  bitset.New(uint(n)),
		partialIdx: -1,
	}
	base := s.base()
	s.bytes = uintptr(n) * p.size
	s.meta = spanmap.Span{
		Base:  base,
		Limit: base + uintptr(n)*p.size,
		Pool:  p.id,
		Slab:  unsafe.Pointer(s),
		Owner: p.owner,
	}
	if err := p.owner.add(&s.meta); err != nil {
		panic(fmt.Errorf("slab: pool %q cannot index a new slab: %w", p.owner.name, err))
	}
	if debugMode {
		p.debugNewSpan(s)
	}

	if k := len(p.freePos); k > 0 {
		s.pos = p.freePos[k-1]
		p.freePos = p.freePos[:k-1]
		p.spans[s.pos] = s
	} else {
		s.pos = len(p.spans)
		p.spans = append(p.spans, s)
		p.genFloor = append(p.genFloor, p.genBase())
	}
	p.setRefTableLocked(s.pos, s)

	p.capacity += n
	s.partialIdx = len(p.partial)
	p.partial = append(p.partial, s)
	return s
}

func (p *Pool[T]) removePartialLocked(s *span[T]) {
	i := s.partialIdx
	last := len(p.partial) - 1
	p.partial[i] = p.partial[last]
	p.partial[i].partialIdx = i
	p.partial[last] = nil
	p.partial = p.partial[:last]
	s.partialIdx = -1
}

// releaseLocked hands an empty span back to the GC: it leaves the address
// map, so a pointer into it no longer matches the pool, and the table. Its
// memory is collected once no pointer into it remains.
func (p *Pool[T]) releaseLocked(s *span[T]) {
	p.owner.remove(&s.meta)
	if p.hint.Load() == s {
		p.hint.Store(new(span[T]))
	}
	if s.partialIdx >= 0 {
		p.removePartialLocked(s)
	}
	p.spans[s.pos] = nil
	p.setRefTableLocked(s.pos, nil)

	// Refs into the span must stay stale if a new span takes its position.
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
	p.released++
}

// genBase is the first Ref generation of a new span position. Each pool
// starts at its own point in [1, 2^31), derived from its id, so that a Ref
// passed to the wrong pool of the same type almost never names a live slot
// there; up to 2^31 generations remain before a slot retires.
func (p *Pool[T]) genBase() uint64 {
	return (p.id*0x9E3779B97F4A7C15)>>33 | 1
}

// setRefTableLocked sets position pos of the table Get reads, doubling the
// table when pos is past its end.
func (p *Pool[T]) setRefTableLocked(pos int, s *span[T]) {
	t := *p.refTable.Load()
	if pos >= len(t) {
		bigger := make([]atomic.Pointer[span[T]], max(2*len(t), pos+1, 8))
		for i := range t {
			bigger[i].Store(t[i].Load())
		}
		t = bigger
		p.refTable.Store(&t)
	}
	t[pos].Store(s)
}

// takeWordLocked assigns every free slot of one allocBits word, the first
// word with a free slot in the span that takeLocked would use, and returns
// the span, the word's first slot and the slots taken (bit k = slot base+k).
// It grows the pool like takeLocked, and returns a zero mask only when a
// bounded pool may not grow. Scopes take their slots this way: one word costs
// the lock once for up to 64 slots, and returnWordLocked gives them back at
// the same price.
func (p *Pool[T]) takeWordLocked() (s *span[T], base uint32, mask uint64) {
	if len(p.partial) == 0 {
		if !p.mayGrowLocked() {
			return nil, 0, 0
		}
		p.newSpanLocked()
	}
	s = p.partial[len(p.partial)-1]
	words := s.allocBits.Words()
	n := uint(len(s.mem))
	for w := s.freeindex / 64; w < uint(len(words)); w++ {
		free := ^words[w]
		if end := (w + 1) * 64; end > n {
			free &= 1<<(n-w*64) - 1 // bits past the last slot are never slots
		}
		if free == 0 {
			continue
		}
		words[w] |= free
		k := bits.OnesCount64(free)
		s.nalloc += k
		// Every slot below freeindex was assigned, and so is every slot
		// of this word now.
		s.freeindex = min((w+1)*64, n)
		s.idleGCs = 0
		if s.nalloc == len(s.mem) {
			p.removePartialLocked(s)
		}
		p.assigned += k
		p.highWater = max(p.highWater, p.assigned)
		return s, uint32(w * 64), free
	}
	panic(fmt.Errorf("slab: internal error: span %d of pool %q counts %d of %d slots assigned but has no free slot",
		s.pos, p.owner.name, s.nalloc, len(s.mem)))
}

// returnWordLocked gives back slots taken with takeWordLocked: mask is a
// subset of the slots of the word at base. The slots must be zeroed already.
func (p *Pool[T]) returnWordLocked(s *span[T], base uint32, mask uint64) {
	if mask == 0 {
		return
	}
	w := &s.allocBits.Words()[base/64]
	if *w&mask != mask {
		panic(fmt.Errorf("slab: internal error: slots %#x of word %d of span %d of pool %q returned but not assigned",
			mask&^*w, base/64, s.pos, p.owner.name))
	}
	*w &^= mask
	k := bits.OnesCount64(mask)
	s.nalloc -= k
	s.freeindex = min(s.freeindex, uint(base)+uint(bits.TrailingZeros64(mask)))
	if s.partialIdx < 0 {
		s.partialIdx = len(p.partial)
		p.partial = append(p.partial, s)
	}
	p.assigned -= k
}

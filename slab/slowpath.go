package slab

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/pin"
	"github.com/slabtrack/slabtrack/internal/race"
)

// The slow paths between the per-P caches (cache.go) and the central free
// set (central.go): an Alloc whose cache has no free slot refills it, from
// the words the cache owns or with a word from the central set (giving one
// back first if it owns as many as it may); Free's general path gives a
// slot back to this P's cache if the cache owns its word, else to the
// word's inbox; and a drain gives every cache's words back to the central
// set.

// allocSlow refills this P's cache, from its own words or from the central
// free set, and returns one slot, marked live.
func (p *Pool[T]) allocSlow() *T {
	for {
		pid := pin.Pin()
		c := p.cache(pid)
		if c == nil {
			pin.Unpin()
			if p.resizeCaches() {
				continue
			}
			// The caches are being drained: take a slot from the
			// central free set.
			return p.allocCentral()
		}
		if x := c.popSampled(p.size); x != nil {
			pin.Unpin()
			return p.allocSampled(x)
		}
		if c.refill(p.size) {
			if x := c.pop(p.size); x != nil {
				pin.Unpin()
				return p.allocated((*T)(x))
			}
			// Sampling set every new slot aside: take one of those.
			x := c.popSampled(p.size)
			pin.Unpin()
			return p.allocSampled(x)
		}
		pin.Unpin()
		if p.resizeCaches() {
			continue
		}

		p.mu.Lock()
		w, free := p.takeCacheWordLocked()
		p.mu.Unlock()
		if w == nil {
			// Only a bounded pool stops growing, and it admitted this
			// allocation, so a slot sits in another P's cache. Take it back.
			return p.allocDrained()
		}
		if race.Enabled {
			// Whichever goroutine pops a slot of the word from the cache
			// synchronises with this one, which took it under the lock,
			// as with a Free.
			for f := free; f != 0; f &= f - 1 {
				race.ReleaseMerge(unsafe.Add(w.mem, uintptr(bits.TrailingZeros64(f))*p.size))
			}
		}
		pid = pin.Pin()
		if c = p.cache(pid); c == nil {
			pin.Unpin()
			p.returnCacheWord(w, free)
			continue
		}
		c.install(w, free, pid, p.ownedLimit, p.size, &p.inboxes)
		x := c.pop(p.size)
		pin.Unpin()
		if x != nil {
			return p.allocated((*T)(x))
		}
	}
}

// allocated finishes the allocation of x, taken from a cache.
func (p *Pool[T]) allocated(x *T) *T {
	if race.Enabled {
		race.Acquire(unsafe.Pointer(x))
	}
	if debugMode {
		p.debugAlloc(p.lookup(x))
	}
	if asan.Enabled {
		p.asanAlloc(x)
	}
	return x
}

// allocCentral takes one slot from the central free set, for an Alloc that
// runs while the caches are drained.
func (p *Pool[T]) allocCentral() *T {
	var buf [1]slotRef[T]
	p.mu.Lock()
	n := p.takeLocked(buf[:])
	p.mu.Unlock()
	if n == 0 {
		return p.allocDrained()
	}
	return p.liveCentral(buf[0])
}

// liveCentral marks r, taken from the central free set, live.
func (p *Pool[T]) liveCentral(r slotRef[T]) *T {
	x := r.ptr()
	if race.Enabled {
		race.Acquire(unsafe.Pointer(x))
	}
	*r.st() = stateLive
	if debugMode {
		p.debugAlloc(r)
	}
	if asan.Enabled {
		p.asanAlloc(x)
	}
	return x
}

// drainPatience bounds allocDrained's wait for a slot in flight.
const drainPatience = time.Second

// allocDrained serves a bounded pool whose free slots all sit in per-P
// caches: it drains the caches as Trim does and takes one slot.
func (p *Pool[T]) allocDrained() *T {
	var buf [1]slotRef[T]
	// The admitted allocation's slot exists, but it can be in flight: in a
	// word between the central set and a cache, held by a goroutine that
	// may have been preempted there. Look again until it has had time to
	// run.
	var deadline time.Time
	for try := 0; ; try++ {
		p.drainCaches()
		p.mu.Lock()
		n := p.takeLocked(buf[:])
		p.mu.Unlock()
		if n > 0 {
			break
		}
		switch {
		case try == 0:
			deadline = time.Now().Add(drainPatience)
		case time.Now().After(deadline):
			if p.bound != 0 {
				p.live.Add(-1)
			}
			panic(drainedNoSlotError(p.owner.name))
		case try > 100:
			time.Sleep(50 * time.Microsecond)
		}
		runtime.Gosched()
	}
	return p.liveCentral(buf[0])
}

// putFree gives back the slot r, marked free and zeroed already: to this
// P's cache if the cache owns its word, else to the word's inbox. It
// reports whether the slot was already in the inbox, which only a racing
// double free can cause; the slot is then free once, as it should be, and
// the Free is not counted.
func (p *Pool[T]) putFree(r slotRef[T]) (dup bool) {
	w := r.word()
	bit := uint64(1) << (r.i % 64)
	if race.Enabled {
		race.ReleaseMerge(unsafe.Pointer(r.ptr()))
	}
	pid := pin.Pin()
	c := p.cache(pid)
	if c != nil && w.owner.Load() == uint32(pid)+1 {
		c.putOwned(w, bit)
		pin.Unpin()
		return false
	}
	old := w.inbox.Or(bit)
	dup = old&bit != 0
	if c != nil {
		c.noteRemote(bits.OnesCount64(bit &^ old))
	}
	pin.Unpin()
	if c == nil && !dup {
		p.extra.frees.Add(1)
		p.extra.inboxed.Add(1)
	}
	// Read the owner after the OR: if a cache gave the word back
	// meanwhile, either it collected the bit or the central set is the
	// owner now and the word must be queued.
	if old == 0 && w.owner.Load() == ownerCentral {
		p.inboxes.push(w)
	}
	return dup
}

// returnCacheWord gives back a word taken for a cache that could not
// install it (the caches were being drained meanwhile).
func (p *Pool[T]) returnCacheWord(w *word, free uint64) {
	w.owner.Store(ownerCentral)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.returnWordLocked((*slab[T])(w.slab), w.base, p.collectLocked(w, free))
}

// The cache operations of the slow paths. Each runs pinned, on the P's own
// cache, or in a drain, while no goroutine can reach the cache.

// setCur makes w, which the cache owns, its current word, with free slots
// free; the old current word keeps its own free slots.
//
//go:norace
func (c *pcache) setCur(w *word, free uint64, size uintptr) {
	if old := c.cur; old != nil && old != w {
		old.free = c.free | c.sampled
		c.sampled = 0
		c.prev, c.pst, c.pmem, c.plim = old, c.cst, c.mem, c.limit
	} else if w == c.prev {
		c.prev, c.pst, c.pmem, c.plim = nil, nil, nil, 0
	}
	c.cur, c.cst, c.free, c.mem = w, w.state, c.withhold(free), w.mem
	c.limit = uintptr(w.nslots) * size
}

// refill finds free slots for the current word, without the central free
// set: first in the current word's inbox, then among the other words the
// cache owns, their own free slots and their inboxes. It reports whether
// the current word has free slots now, in free or set aside for sampling.
//
//go:norace
func (c *pcache) refill(size uintptr) bool {
	if w := c.cur; w != nil {
		// Collected slots that the cache holds already, in free or set
		// aside for sampling, are duplicates (see collect).
		have := c.free | c.sampled
		c.free |= c.withhold(c.collect(w, have) &^ have)
		if c.free|c.sampled != 0 {
			return true
		}
	}
	for i := range c.n {
		w := c.owned[i]
		if w == c.cur {
			continue
		}
		if w.free != 0 || w.inbox.Load() != 0 {
			f := c.collect(w, w.free)
			w.free = 0
			c.setCur(w, f, size)
			if f != 0 {
				return true // in free, or set aside for sampling
			}
		}
	}
	return false
}

// collect adds w's inbox to free, the free slots the cache holds of w, and
// returns the sum.
//
// Only a racing double free can put a slot in the inbox that is not simply
// free: if one Free of a racing pair ran on this P, the slot is in free
// already, and it stays free once, its second Free not counted; if the slot
// was handed out again before the second Free reached the inbox, it is live
// (or scoped) now, and is dropped here, so that it never has two owners.
//
//go:norace
func (c *pcache) collect(w *word, free uint64) uint64 {
	if w.inbox.Load() == 0 {
		return free
	}
	in := w.inbox.Swap(0)
	c.collected += uint64(bits.OnesCount64(in))
	valid := validFree(w, in&^free)
	c.dropRaced(bits.OnesCount64(in &^ valid))
	return free | valid
}

// dropRaced uncounts n Frees that returned a slot already free or handed
// out again: the second Frees of racing pairs (see collect), which counted
// themselves, and counted a bounded pool's object out a second time.
//
//go:norace
func (c *pcache) dropRaced(n int) {
	if n == 0 {
		return
	}
	c.frees -= uint64(n)
	if c.live != nil {
		c.live.Add(int64(n))
	}
}

// validFree returns the bits of in whose slots are in the free state.
//
//go:norace
func validFree(w *word, in uint64) uint64 {
	for f := in; f != 0; f &= f - 1 {
		if j := bits.TrailingZeros64(f); w.state[j] != stateFree {
			in &^= 1 << j
		}
	}
	return in
}

// install makes w, just taken from the central free set with free slots
// free, the cache's current word. If the cache owns as many words as it
// may, it gives one back first (see evict). pid is the cache's P.
//
//go:norace
func (c *pcache) install(w *word, free uint64, pid, limit int, size uintptr, q *inboxList) {
	if int(c.n) >= limit {
		c.evict(q)
	}
	c.owned[c.n] = w
	c.n++
	w.owner.Store(uint32(pid) + 1)
	// Frees while the word was on its way went to its inbox.
	c.setCur(w, c.collect(w, free), size)
}

// evict gives one owned word back to the central free set: preferably a
// word with no free slot, else the oldest. Its free slots go into its inbox,
// and it joins the list of words whose inboxes the central set collects,
// so no lock is needed.
//
//go:norace
func (c *pcache) evict(q *inboxList) {
	n := int(c.n)
	k := -1
	for i := range n {
		if w := c.owned[i]; w != c.cur && w.free == 0 && w.inbox.Load() == 0 {
			k = i
			break
		}
	}
	if k < 0 {
		k = int(c.next) % n
		if c.owned[k] == c.cur && n > 1 {
			k = (k + 1) % n
		}
		c.next = uint16(k + 1)
	}
	w := c.owned[k]
	free := w.free
	switch w {
	case c.cur:
		free = c.free | c.sampled
		c.cur, c.cst, c.free, c.sampled, c.mem, c.limit = nil, nil, 0, 0, nil, 0
	case c.prev:
		c.prev, c.pst, c.pmem, c.plim = nil, nil, nil, 0
	}
	w.free = 0
	c.n--
	c.owned[k] = c.owned[c.n]
	c.owned[c.n] = nil
	c.disown(w, free, q)
}

// disown ends the cache's ownership of w, whose free slots (not counting
// its inbox) are free.
//
//go:norace
func (c *pcache) disown(w *word, free uint64, q *inboxList) {
	// The owner changes first: a Free that sees the central set as the
	// owner after this queues the word itself.
	w.owner.Store(ownerCentral)
	if free != 0 {
		old := w.inbox.Or(free)
		c.inboxed += uint64(bits.OnesCount64(free &^ old))
		c.dropRaced(bits.OnesCount64(free & old))
	}
	q.push(w)
}

// resizeCaches makes the table of caches as large as GOMAXPROCS after it
// changed, and reports whether it did. When GOMAXPROCS shrinks, the caches
// of the Ps that are gone would keep their words, and the slots freed into
// those words' inboxes, until the pool went idle: the drain gives them back.
func (p *Pool[T]) resizeCaches() bool {
	if runtime.GOMAXPROCS(0) != len(p.allCaches()) {
		p.drainCaches()
		return true
	}
	return false
}

// drainCaches moves every cached slot back to the central free set, with
// the free slots that released scopes keep, and makes the table as large as
// GOMAXPROCS. While it runs, Alloc and Free bypass the caches.
//
// The drain knows that no goroutine is inside a cache operation by stopping
// the world (pin.Quiesce): pinned sections cannot be stopped, so once the
// world has stopped and started again, every cache operation that began
// before has ended, and later ones see localSize 0.
func (p *Pool[T]) drainCaches() { p.drain(true) }

// tryDrainCaches drains the caches as drainCaches does, unless another
// drain is in progress (a Trim, say), and reports whether it did.
func (p *Pool[T]) tryDrainCaches() bool { return p.drain(false) }

// drain is drainCaches, or tryDrainCaches if wait is false.
func (p *Pool[T]) drain(wait bool) bool {
	if wait {
		p.drainMu.Lock()
	} else if !p.drainMu.TryLock() {
		return false
	}
	defer p.drainMu.Unlock()

	// No goroutine can start a cache operation once localSize is 0; wait
	// for the ones in progress, which run pinned.
	atomic.StoreUintptr(&p.localSize, 0)
	pin.Quiesce()

	caches := p.allCaches()
	p.mu.Lock()
	for i := range caches {
		p.drainLocked(&caches[i])
	}
	p.collectInboxesLocked()
	p.reclaimScopesLocked() // and the free slots that released scopes keep
	p.mu.Unlock()
	if n := runtime.GOMAXPROCS(0); n != len(caches) {
		p.setCaches(n)
	} else {
		atomic.StoreUintptr(&p.localSize, uintptr(len(caches)))
	}
	return true
}

// drainLocked gives every word of c back to the central free set. No
// goroutine can reach c meanwhile.
//
//go:norace
func (p *Pool[T]) drainLocked(c *pcache) {
	for _, w := range c.owned[:c.n] {
		free := w.free
		if w == c.cur {
			free = c.free | c.sampled
		}
		w.free = 0
		w.owner.Store(ownerCentral)
		p.returnWordLocked((*slab[T])(w.slab), w.base, c.collect(w, free))
	}
	clear(c.owned[:c.n])
	c.n, c.next = 0, 0
	c.cur, c.cst, c.free, c.sampled, c.mem, c.limit = nil, nil, 0, 0, nil, 0
	c.prev, c.pst, c.pmem, c.plim = nil, nil, nil, 0
}

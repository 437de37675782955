package slab

import (
	"math/bits"
	"sync/atomic"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/pin"
	"github.com/slabtrack/slabtrack/internal/race"
)

// Per-P caches. Each P's cache owns whole words of slots (see word): it
// hands out the free slots of its current word with a bit scan, and takes
// back the slots of its own words with plain stores, all while the
// goroutine is pinned to the P, so the common Alloc and Free take no lock
// and execute no atomic instruction. A slot freed on a P that does not own
// its word goes to the word's inbox instead, and comes back to the owner in
// a batch. A cache whose words run out takes another word from the central
// free set under Pool.mu; a cache that owns too many words gives the oldest
// back, without the lock (through the word's inbox). Those slow paths, and
// the drain that empties every cache, are in slowpath.go.
//
// Under -race the cache operations are hidden from the detector (go:norace:
// the P, not a lock, serialises them, which the detector cannot see), and
// each slot hand-off is described instead: ReleaseMerge on the slot in
// Free, Acquire in Alloc. sync.Pool does the same; its package is exempt
// from instrumentation altogether.
const (
	// maxOwned is the most words one cache owns.
	maxOwned = 8
	// cacheBytes bounds the memory of the words one cache owns, so that the
	// caches of a pool of large objects do not pin many slabs. A cache
	// owns at least 2 words whatever their size.
	cacheBytes = 256 << 10
	// pinnedZeroMax is the largest object that Free zeroes while pinned to
	// its P. Larger ones are zeroed before, so that a stop-the-world never
	// waits for a long clear.
	pinnedZeroMax = 1 << 10
)

// ownedLimit returns how many words a cache of the pool owns at most.
func ownedLimit(size uintptr, nelems int) int {
	wordBytes := uintptr(min(64, nelems)) * size
	return int(max(2, min(maxOwned, cacheBytes/wordBytes)))
}

// pcache is one P's cache. Its fields are written only by the goroutine
// running on the P while pinned, or by drainCaches while no goroutine can
// reach the cache.
type pcache struct {
	// The current word, which Alloc and Free use without a call: its free
	// slots (bit k = slot k of the word), its states, its slot 0 and the
	// bytes of its slots. cst is nil, free 0 and limit 0 while the cache
	// owns no word.
	free  uint64
	cst   *wordState
	mem   unsafe.Pointer
	limit uintptr
	// frees counts the Frees served on this P, its own words' and others',
	// for Stats.
	frees uint64
	// The previous current word, whose slots Free also takes back without
	// a call: objects allocated just before the current word ran out.
	// Its free slots are in prev.free.
	pst  *wordState
	pmem unsafe.Pointer
	plim uintptr

	// cur and prev are the words the fields above describe; nil if none.
	cur, prev *word
	// Counters, read by Stats: the slots the cache put into inboxes (frees
	// of other words, and the free slots of words it gave back) and the
	// slots it took out of inboxes.
	inboxed   uint64
	collected uint64
	// sampled are free slots of the current word set aside for sampling
	// (WithSampling): allocSlow hands them out after the others.
	sampled uint64
	// sampleLeft counts the slots to pass before the next sample.
	sampleLeft int64
	// live is the pool's count of live objects if it is bounded, else nil.
	live *atomic.Int64
	// every is the pool's sampling period, 0 if it does not sample.
	every int32
	// n is the number of words in owned; next is the position in owned of
	// the next word to give back when the cache must make room: the words
	// rotate.
	n, next uint16

	// owned are the words the cache owns, cur and prev among them. The
	// cache is three cache lines (see TestLayout).
	owned [maxOwned]*word
}

// cache returns this P's cache, or nil while the caches are being drained
// or when the P has none yet. The caller must be pinned; pid is its P.
//
// The table is an array reached through one unsafe.Pointer, like
// sync.Pool's locals: the fast paths are a chain of dependent loads, and
// this keeps the chain two loads long. localSize is published after local,
// and cleared before the array is drained.
func (p *Pool[T]) cache(pid int) *pcache {
	if uintptr(pid) < atomic.LoadUintptr(&p.localSize) {
		return (*pcache)(unsafe.Add(atomic.LoadPointer(&p.local), uintptr(pid)*unsafe.Sizeof(pcache{})))
	}
	return nil
}

// The cache operations. Each runs pinned, on the P's own cache.

// pop hands out the lowest free slot of the current word, marked live, or
// returns nil.
//
//go:norace
func (c *pcache) pop(size uintptr) unsafe.Pointer {
	f := c.free
	if f == 0 {
		return nil
	}
	j := uintptr(bits.TrailingZeros64(f))
	c.cst[j&63] = stateLive
	c.free = f & (f - 1)
	return unsafe.Add(c.mem, j*size)
}

// claim marks the object at x, if it is a live slot of the word whose
// states are st, whose slot 0 is at mem and whose slots take limit bytes,
// free, and returns its index in the word; the caller zeroes it and calls
// put. It returns noSlot for anything else. Free calls it for the cache's
// current word and then for the previous one; a slot of neither, or
// anything but a live slot, takes Free's general path. st may be nil when
// limit is 0.
//
//go:norace
func claim(st *wordState, mem unsafe.Pointer, limit uintptr, x unsafe.Pointer, size uintptr) uintptr {
	off := uintptr(x) - uintptr(mem)
	if off >= limit {
		return noSlot
	}
	j := off / size
	if j*size != off {
		return noSlot
	}
	p := &st[j&63]
	if *p != stateLive {
		return noSlot
	}
	*p = stateFree
	return j
}

// noSlot is claim's result for an object it does not take.
const noSlot = ^uintptr(0)

// put adds slot j, which claim marked free, to mask: the cache's free, or
// its previous word's.
//
//go:norace
func (c *pcache) put(mask *uint64, j uintptr) {
	*mask |= 1 << (j & 63)
	c.frees++
}

// putOwned adds the free slot bit of w, a word the cache owns, to the cache.
//
//go:norace
func (c *pcache) putOwned(w *word, bit uint64) {
	if w == c.cur {
		c.free |= bit
	} else {
		w.free |= bit
	}
	c.frees++
}

// noteRemote counts a Free whose slot went to another word's inbox, n new
// bits of it (0 if the bit was set already: a racing double free).
//
//go:norace
func (c *pcache) noteRemote(n int) {
	if n > 0 {
		c.frees++
		c.inboxed++
	}
}

// alloc takes a slot from this P's cache, or from the central free set when
// the cache has none, and marks it live. It is Alloc's fast path as a
// function, for the other allocating calls.
func (p *Pool[T]) alloc() *T {
	pid := pin.Pin()
	if c := p.cache(pid); c != nil {
		if x := c.pop(p.size); x != nil {
			pin.Unpin()
			if race.Enabled {
				race.Acquire(x)
			}
			if debugMode {
				p.debugAlloc(p.lookup((*T)(x)))
			}
			if asan.Enabled {
				p.asanAlloc((*T)(x))
			}
			return (*T)(x)
		}
	}
	pin.Unpin()
	return p.allocSlow()
}

// counts reads the cache's counters from another P. Each is a machine word
// written without atomics by its own P, so a concurrent read sees some recent
// value; the result is exact once the writers are synchronised with the
// caller.
//
//go:norace
func (c *pcache) counts() (frees, inboxed, collected uint64, held int) {
	held = bits.OnesCount64(c.free) + bits.OnesCount64(c.sampled)
	cur := c.cur
	for _, w := range c.owned[:min(c.n, maxOwned)] {
		// The P may be changing the list: an entry may be nil or a word
		// it owns no more, which only makes the count approximate.
		if w != nil && w != cur {
			held += bits.OnesCount64(w.free)
		}
	}
	return c.frees, c.inboxed, c.collected, held
}

// allCaches returns every per-P cache, also while they are hidden from the
// fast paths.
func (p *Pool[T]) allCaches() []pcache {
	return *p.caches.Load()
}

// setCaches installs a new, empty table of n caches; the counters of the
// old one carry over.
func (p *Pool[T]) setCaches(n int) {
	if p.caches.Load() != nil {
		old := p.allCaches()
		for i := range old {
			f, in, out, _ := old[i].counts()
			p.extra.frees.Add(f)
			p.extra.inboxed.Add(in)
			p.extra.collected.Add(out)
		}
	}
	caches := make([]pcache, n)
	for i := range caches {
		if p.sample != nil {
			caches[i].every = int32(p.sample.every)
		}
		if p.bound != 0 {
			caches[i].live = &p.live
		}
	}
	p.caches.Store(&caches)
	atomic.StorePointer(&p.local, unsafe.Pointer(unsafe.SliceData(caches)))
	atomic.StoreUintptr(&p.localSize, uintptr(len(caches)))
}

// cacheCounts sums the caches' counters (see pcache.counts) and the pool's
// own for the work done outside them: the frees served, the slots in
// inboxes, and the free slots the caches hold.
func (p *Pool[T]) cacheCounts() (frees uint64, inboxed int, held int) {
	frees = p.extra.frees.Load()
	in, out := p.extra.inboxed.Load(), p.extra.collected.Load()
	caches := p.allCaches()
	for i := range caches {
		f, ci, co, h := caches[i].counts()
		frees += f
		in += ci
		out += co
		held += h
	}
	return frees, int(in - out), held
}

package slab

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/pin"
	"github.com/slabtrack/slabtrack/internal/race"
)

// Per-P caches (magazines, in Bonwick's terms). Each P has a stack of free
// slots that only the goroutine running on that P touches, while pinned, so
// the common Alloc and Free take no lock and execute no atomic instruction.
// A cache that runs empty takes refillBatch slots from the spans under
// Pool.mu; one that runs full gives back its older half. The depot of the
// classic design is the spans' free sets themselves.
//
// Under -race the magazine operations are hidden from the detector
// (go:norace: the P, not a lock, serialises them, which the detector cannot
// see), and each slot hand-off is described instead: ReleaseMerge on the slot
// in Free, Acquire in Alloc. sync.Pool does the same; its package is exempt
// from instrumentation altogether.
const (
	magSize     = 128
	refillBatch = 64 // one allocBits word: see takeLocked

	// cacheBytes bounds the memory one cache holds, so that the caches of a
	// pool of large objects do not pin many slabs.
	cacheBytes = 256 << 10
)

// magCap returns how many slots a cache of objects of the given size holds:
// magSize, or fewer for large objects, at least 2.
func magCap(size uintptr) int {
	return int(max(2, min(magSize, cacheBytes/size)))
}

type pcache[T any] struct {
	n     int    // mag[:n] are free slots; mag[n-1] is the next to go
	limit int    // n <= limit <= magSize
	frees uint64 // Frees served by this cache
	mag   [magSize]cslot[T]
	_     [64]byte // keeps the next cache's hot fields off this line
}

// A cslot is a free slot in a cache: its address and its state byte, all
// that Alloc needs.
type cslot[T any] struct {
	x  *T
	st *uint8
}

// cache returns this P's cache, or nil while the caches are being drained
// or when the P has none yet. The caller must be pinned; pid is its P.
//
// The table is an array reached through one unsafe.Pointer, like
// sync.Pool's locals: the fast paths are a chain of dependent loads, and
// this keeps the chain two loads long. localSize is published after local,
// and cleared before the array is drained.
func (p *Pool[T]) cache(pid int) *pcache[T] {
	if uintptr(pid) < atomic.LoadUintptr(&p.localSize) {
		return (*pcache[T])(unsafe.Add(atomic.LoadPointer(&p.local), uintptr(pid)*unsafe.Sizeof(pcache[T]{})))
	}
	return nil
}

// The magazine operations. Each runs pinned, on the P's own cache.

// pop removes the most recently pushed slot.
//
//go:norace
func (c *pcache[T]) pop() (cslot[T], bool) {
	n := c.n - 1
	if n < 0 {
		return cslot[T]{}, false
	}
	e := c.mag[n]
	// Drop the slot pointer so that a cache does not keep a released slab
	// alive; the state pointer only reaches the slab's small state array.
	c.mag[n].x = nil
	c.n = n
	return e, true
}

// push adds a free slot, unless the magazine is full.
//
//go:norace
func (c *pcache[T]) push(e cslot[T]) bool {
	n := c.n
	if n >= c.limit {
		return false
	}
	c.mag[n] = e
	c.n = n + 1
	c.frees++
	return true
}

// fill adds as many of es as fit and returns how many it took.
//
//go:norace
func (c *pcache[T]) fill(es []cslot[T]) int {
	// Loops, not copy or clear: those run in the runtime, which reports
	// them to the race detector whatever this function's directive.
	k := 0
	for ; k < len(es) && c.n < c.limit; k++ {
		c.mag[c.n] = es[k]
		c.n++
	}
	return k
}

// spill moves the oldest len(out) slots into out, or all of them if fewer.
//
//go:norace
func (c *pcache[T]) spill(out []cslot[T]) int {
	k := min(len(out), c.n)
	for i := 0; i < k; i++ {
		out[i] = c.mag[i]
	}
	for i := k; i < c.n; i++ {
		c.mag[i-k] = c.mag[i]
	}
	for i := c.n - k; i < c.n; i++ {
		c.mag[i] = cslot[T]{}
	}
	c.n -= k
	return k
}

// counts reads the cache's counters from another P. Each is a machine word
// written without atomics by its own P, so a concurrent read sees some recent
// value; the result is exact once the writers are synchronised with the
// caller.
//
//go:norace
func (c *pcache[T]) counts() (frees uint64, n int) { return c.frees, c.n }

// cacheGet pops a slot from this P's cache.
func (p *Pool[T]) cacheGet() (cslot[T], bool) {
	pid := pin.Pin()
	if c := p.cache(pid); c != nil {
		e, ok := c.pop()
		pin.Unpin()
		return e, ok
	}
	pin.Unpin()
	return cslot[T]{}, false
}

// cachePut pushes a free slot onto this P's cache, unless it is full or
// unavailable.
func (p *Pool[T]) cachePut(e cslot[T]) bool {
	pid := pin.Pin()
	ok := false
	if c := p.cache(pid); c != nil {
		ok = c.push(e)
	}
	pin.Unpin()
	return ok
}

// allocSlow refills this P's cache from the spans and returns one slot,
// marked live.
func (p *Pool[T]) allocSlow() *T {
	var buf [refillBatch]slotRef[T]
	p.growLocals()
	p.mu.Lock()
	n := p.takeLocked(buf[:min(refillBatch, magCap(p.size)/2+1)])
	p.mu.Unlock()
	if n == 0 {
		// Only a bounded pool stops growing, and it admitted this
		// allocation, so a slot sits in another P's cache. Take it back.
		return p.allocDrained()
	}

	var rest [refillBatch - 1]cslot[T]
	for i, r := range buf[1:n] {
		rest[i] = cslot[T]{r.ptr(), &r.s.state[r.i]}
		// The goroutine that pops the slot from the cache synchronises
		// with this one, as with a Free.
		race.ReleaseMerge(unsafe.Pointer(rest[i].x))
	}
	left := rest[:n-1]
	pid := pin.Pin()
	if c := p.cache(pid); c != nil {
		left = left[c.fill(left):]
	}
	pin.Unpin()
	if len(left) > 0 {
		p.returnSlots(left)
	}

	r := buf[0]
	x := r.ptr()
	race.Acquire(unsafe.Pointer(x))
	r.s.state[r.i] = stateLive
	if debugMode {
		p.debugAlloc(r)
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
	// refill's batch between takeLocked and a cache, or in a spill between
	// a cache and returnLocked, held by a goroutine that may have been
	// preempted there. Look again until it has had time to run.
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
			panic(fmt.Errorf("slab: internal error: bounded pool %q admitted an allocation but has no free slot", p.owner.name))
		case try > 100:
			time.Sleep(50 * time.Microsecond)
		}
		runtime.Gosched()
	}
	r := buf[0]
	x := r.ptr()
	race.Acquire(unsafe.Pointer(x))
	r.s.state[r.i] = stateLive
	if debugMode {
		p.debugAlloc(r)
	}
	return x
}

// freeSlow frees e when this P's cache is full or unavailable: the older
// half of the cache goes back to the spans, e takes its place.
func (p *Pool[T]) freeSlow(e cslot[T]) {
	var out [magSize/2 + 1]cslot[T]
	n := 0
	pid := pin.Pin()
	if c := p.cache(pid); c != nil {
		if !c.push(e) {
			n = c.spill(out[:c.limit/2])
			c.push(e)
		}
		e.x = nil
	}
	pin.Unpin()
	if e.x != nil {
		out[n] = e
		n++
		p.mu.Lock()
		p.slowFrees++
		p.mu.Unlock()
	}
	p.returnSlots(out[:n])
}

// returnSlots gives cached slots back to their spans.
func (p *Pool[T]) returnSlots(es []cslot[T]) {
	var buf [magSize]slotRef[T]
	for len(es) > 0 {
		n := min(len(es), len(buf))
		for i, e := range es[:n] {
			buf[i] = p.lookup(e.x)
		}
		p.mu.Lock()
		p.returnLocked(buf[:n])
		p.mu.Unlock()
		es = es[n:]
	}
}

// allCaches returns every per-P cache, also while they are hidden from the
// fast paths.
func (p *Pool[T]) allCaches() []pcache[T] {
	return *p.caches.Load()
}

// growLocals gives each P a cache after GOMAXPROCS grew.
func (p *Pool[T]) growLocals() {
	if runtime.GOMAXPROCS(0) > len(p.allCaches()) {
		p.drainCaches()
	}
}

// drainCaches moves every cached slot back to the spans, with the free slots
// that released scopes keep, and makes the table as large as GOMAXPROCS.
// While it runs, Alloc and Free bypass the caches.
func (p *Pool[T]) drainCaches() {
	p.drainMu.Lock()
	defer p.drainMu.Unlock()

	// No goroutine can start a cache operation once localSize is 0; wait
	// for the ones in progress, which run pinned.
	atomic.StoreUintptr(&p.localSize, 0)
	pin.Quiesce()

	var buf [magSize]cslot[T]
	caches := p.allCaches()
	for i := range caches {
		p.returnSlots(buf[:caches[i].spill(buf[:])])
	}
	p.reclaimScopes() // and the free slots that released scopes keep
	if n := runtime.GOMAXPROCS(0); n > len(caches) {
		p.setCaches(n)
	} else {
		atomic.StoreUintptr(&p.localSize, uintptr(len(caches)))
	}
}

// setCaches installs a new, empty table of n caches; the frees that the old
// one counted carry over.
func (p *Pool[T]) setCaches(n int) {
	caches := make([]pcache[T], n)
	for i := range caches {
		caches[i].limit = magCap(p.size)
	}
	if p.caches.Load() != nil {
		old := p.allCaches()
		for i := range old {
			f, _ := old[i].counts()
			caches[0].frees += f
		}
	}
	p.caches.Store(&caches)
	atomic.StorePointer(&p.local, unsafe.Pointer(unsafe.SliceData(caches)))
	atomic.StoreUintptr(&p.localSize, uintptr(len(caches)))
}

// cacheCounts sums the caches' counters.
func (p *Pool[T]) cacheCounts() (frees uint64, cached int) {
	caches := p.allCaches()
	for i := range caches {
		f, n := caches[i].counts()
		frees += f
		cached += n
	}
	return frees, cached
}

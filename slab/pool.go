package slab

import (
	"math/bits"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/pin"
	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/internal/registry"
	"github.com/slabtrack/slabtrack/internal/slabmap"
)

// maxObjectSize is the largest T a pool accepts. Slot offsets within a slab
// must fit in 32 bits for the division-free index computation in Free.
const maxObjectSize = 1 << 30

// A Pool allocates values of type T from contiguous slabs and takes them back
// with Free.
//
// Every Alloc returns a pointer to a zeroed T. The caller owns it until it
// passes it to Free; the *T must not be used after Free, since the slot is
// zeroed at once and handed to the next Alloc. Free of a pointer that is
// already free, or that the pool did not allocate, panics: see Free.
//
// Use a Pool where objects have a clear owner and a clear end of life, such as
// the objects of one HTTP request (see Scope, which frees them all at once).
// Where objects are only a cache of reusable buffers that may be dropped at
// any time, sync.Pool is simpler.
//
// A Pool is safe for concurrent use by multiple goroutines: any goroutine may
// free an object that another allocated. A Pool must not be copied after
// first use. A Pool that becomes unreachable is collected with its slabs,
// except for slabs into which the program still holds pointers.
type Pool[T any] struct {
	_ noCopy

	// The fields read by every Alloc and Free come first, on one cache
	// line that only rare paths write: New (every field), drainCaches
	// (local and localSize) and the pool's first Ref (slowFree). Nothing
	// that changes per operation is stored here.

	// local is the array of per-P caches, indexed by P id, of localSize
	// entries. localSize is 0 while drainCaches runs; Alloc and Free then go
	// to the central free set directly.
	local     unsafe.Pointer
	localSize uintptr
	// bound is the WithMaxObjects bound, 0 = unbounded: the one copy the
	// pool reads (New copies it from config.maxObjects, which nothing reads
	// after), kept on this line because every Alloc and Free tests it.
	bound int64
	// slowFree is set if Free must take its general path: the pool is
	// bounded (each Free counts the live objects down), has a reset
	// function (WithReset), or has issued Refs (each Free bumps the slot's
	// generation).
	slowFree atomic.Bool
	_        [64 - 8 - 8 - 8 - 4]byte

	// live counts live objects of a bounded pool, on a line of its own.
	// refused counts the allocations the bound refused (ErrExhausted):
	// it shares the line, which the refusing call has just written
	// (admit), so that counting a refusal moves no other line between Ps.
	live    atomic.Int64
	refused atomic.Uint64
	_       [48]byte

	// inboxes lists the central words whose inboxes may hold slots; any
	// Free may push onto it, so it has a line of its own.
	inboxes inboxList
	_       [56]byte

	// extra counts what happens outside the caches: Frees while they are
	// drained, slots put into and taken out of inboxes by the central free
	// set, and the counters of cache tables that drainCaches replaced.
	extra struct {
		frees, inboxed, collected atomic.Uint64
	}

	// caches is the same array as local, never hidden, for Stats and
	// drainCaches.
	caches atomic.Pointer[[]pcache]

	// size is the distance between two slots: unsafe.Sizeof(T), or, in a
	// debug build's pool on guard pages (WithGuardPages), the size rounded
	// up to whole OS pages.
	size       uintptr
	divMul     uint64 // ceil(2^32 / size): slot index = offset * divMul >> 32
	nelems     int    // slots per slab
	ownedLimit int    // the most words a cache owns, see ownedLimit
	id         uint64 // slabmap.Slab.Pool of every slab of this pool
	// regID is the pool's id in internal/registry, by which fault records
	// (poisoned reference words, guard pages) name it.
	regID  uint64
	owner  *owner
	cfg    config
	reset  func(*T) // WithReset, or nil: zero freed objects
	sample *sampler // WithSampling, or nil
	//lint:ignore U1000 empty and unread in default builds; debug_on.go keeps its state here
	dbg poolDebug[T]

	// Locks. A goroutine that holds several takes them in this order:
	//
	//	drainMu -> mu -> owner.mu -> slabmap's lock
	//	mu -> dbg.qmu (debug builds' quarantine)
	//
	// drainCaches takes mu under drainMu; growing and trimming register
	// and unregister slabs (owner.add, owner.remove) under mu; a full
	// quarantine returns its oldest slot to its slab under mu, then qmu.
	// The other locks of the package (sampler.mu, dbg.imu, elemType.mu,
	// allElemTypes, denseIndexes.mu) are leaves: nothing else is taken
	// while one is held.
	//
	// A method or function named xLocked must be called with mu held (it
	// may take the locks that come after mu). The quarantine's functions
	// that must be called with dbg.qmu held are named xQLocked. No other
	// lock gives a name a suffix.
	drainMu sync.Mutex // serialises drainCaches

	mu sync.Mutex // guards the fields below and every slab's central fields
	// slabs holds every slab by position, nil where Trim released one.
	slabs []*slab[T]
	// refTable is the same, for Deref and FreeRef, which read it without the
	// lock: entries are atomic, and a full table is replaced by one twice
	// as large.
	refTable atomic.Pointer[[]atomic.Pointer[slab[T]]]
	// freePos lists positions of released slabs, for reuse.
	freePos []int
	// genFloor is, per position, the lowest Ref generation that a new slab
	// at that position may issue, so Refs into a released slab stay stale.
	genFloor []uint64
	// partial holds the slabs with free slots in the central free set.
	partial   []*slab[T]
	capacity  int
	assigned  int // slots not in the central free set (see slab.allocBits)
	highWater int
	retired   int
	// slowFrees counts the Frees that neither a cache nor an inbox
	// counted: retired slots, and debug builds' quarantine. Allocs are
	// derived: Frees + Live.
	slowFrees uint64
	trimmed   uint64 // slabs handed back to the GC
	// trimmedBytes is the slot memory of the released slabs.
	trimmedBytes uint64
	// Activity seen by the last OnGC, and for how many cycles it has not
	// changed.
	lastActivity [3]uint64
	idleCycles   int

	sc poolScopes[T] // the pool's side of Scopes, see scope_holders.go
}

// owner describes a pool to the address map and holds the map entries of
// its slabs, so that they can be removed when the pool is collected. It holds
// no reference to the Pool.
type owner struct {
	name, typeName string

	mu    sync.Mutex
	metas map[*slabmap.Slab]struct{}
}

func (o *owner) Name() string     { return o.name }
func (o *owner) TypeName() string { return o.typeName }

func (o *owner) add(m *slabmap.Slab) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := slabmap.Register(m); err != nil {
		return err
	}
	o.metas[m] = struct{}{}
	return nil
}

func (o *owner) remove(m *slabmap.Slab) {
	o.mu.Lock()
	defer o.mu.Unlock()
	slabmap.Unregister(m)
	delete(o.metas, m)
}

// unregisterAll runs as the pool's cleanup, once the pool is unreachable.
func (o *owner) unregisterAll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for m := range o.metas {
		slabmap.Unregister(m)
		delete(o.metas, m)
	}
}

// New returns an empty pool of T. It takes no memory until the first Alloc.
//
// New panics if an option is invalid (see each option), or if T has size
// zero (all zero-size values may share one address, so slots could not be
// told apart) or is larger than 1 GiB.
func New[T any](opts ...Option) *Pool[T] {
	typ := reflect.TypeFor[T]()
	typeName := "*" + typ.String()
	size := typ.Size()
	if size == 0 {
		panic(zeroSizeError(typ))
	}
	if size > maxObjectSize {
		panic(typeSizeError(typ, size))
	}
	cfg := defaultConfig()
	for _, opt := range opts {
		if opt == nil {
			panic(nilOptionError(typ))
		}
		opt(&cfg)
	}
	if cfg.name == "" {
		cfg.name = typ.String()
	}
	var reset func(*T)
	if cfg.reset != nil {
		var ok bool
		if reset, ok = cfg.reset.(func(*T)); !ok {
			panic(resetTypeError(typ, cfg.reset))
		}
	}
	if cfg.debug.hasGuard && cfg.debug.guard && hasPointers(typ) {
		panic(guardPointersError(typ, "WithGuardPages(true)"))
	}
	if cfg.guardEvery > 0 && hasPointers(typ) {
		panic(guardPointersError(typ, "WithGuardSampling"))
	}
	slot, want := size, cfg.slabSlots
	if debugMode {
		slot, want = debugSlotSize(typ, &cfg)
	}
	p := &Pool[T]{
		size:   slot,
		divMul: (1<<32 + uint64(slot) - 1) / uint64(slot),
		nelems: slotsPerSlab(slot, want),
		bound:  int64(cfg.maxObjects),
		id:     slabmap.NewPoolID(),
		owner:  &owner{name: cfg.name, typeName: typeName, metas: map[*slabmap.Slab]struct{}{}},
		cfg:    cfg,
	}
	p.ownedLimit = ownedLimit(size, p.nelems)
	p.reset = reset
	if (cfg.sampleEvery > 0 || cfg.guardEvery > 0) && !debugMode {
		p.sample = newSampler(cfg.sampleEvery, cfg.guardEvery)
	}
	p.slowFree.Store(p.bound != 0 || reset != nil)
	p.refTable.Store(new([]atomic.Pointer[slab[T]]))
	p.setCaches(runtime.GOMAXPROCS(0))
	runtime.AddCleanup(p, (*owner).unregisterAll, p.owner)
	p.regID = registry.Register((*registered[T])(p))
	startGCTick() // the automatic trim (trim.go) and its clock (gcclock.go)
	if debugMode {
		p.debugInit()
	}
	return p
}

// slabMem returns the slots of a new slab of n slots: a slice of T, or in
// debug builds, for a pool on guard pages, memory with a slot every p.size
// bytes (see slotRef.ptr).
func (p *Pool[T]) slabMem(n int) []T {
	if debugMode {
		if mem := p.debugSlabMem(n); mem != nil {
			return mem
		}
	}
	return make([]T, n)
}

// Slab sizing. A slab is one Go large object (over 32 KiB), because the Go
// allocator starts large objects on a page boundary and gives them whole
// pages, which lets the address map find a slab from any address in it.
const (
	minSlabBytes     = 40 << 10
	defaultSlabBytes = 64 << 10
	maxSlabBytes     = 1 << 31
)

// slotsPerSlab returns how many slots of size bytes a slab holds when the
// caller asked for want slots (0 = default): at least minSlabBytes, whole
// pages, every byte of the last page used.
func slotsPerSlab(size uintptr, want int) int {
	bytes := uintptr(defaultSlabBytes)
	if want > 0 {
		if uintptr(want) > maxSlabBytes/size {
			want = int(maxSlabBytes / size)
		}
		bytes = uintptr(want) * size
	}
	bytes = max(bytes, minSlabBytes, size)
	bytes = (bytes + slabmap.PageSize - 1) &^ (slabmap.PageSize - 1)
	return int(bytes / size)
}

// Alloc returns a pointer to a zeroed T, growing the pool by one slab when
// every slot is taken. The caller owns the T until it passes it to Free.
//
// Alloc panics with an error wrapping ErrExhausted if the pool is bounded by
// WithMaxObjects and the bound is reached. Use TryAlloc on bounded pools to
// turn that state into an error, such as an HTTP 503.
func (p *Pool[T]) Alloc() *T {
	// The fast path takes a slot of this P's current word. It is written
	// out here, not called, because every call on this path costs a
	// measurable share of the few nanoseconds an Alloc takes.
	if !debugMode && p.bound == 0 {
		var t T
		pid := pin.Pin()
		if c := p.cache(pid); c != nil {
			if x := c.pop(unsafe.Sizeof(t)); x != nil {
				pin.Unpin()
				if race.Enabled {
					race.Acquire(x)
				}
				if asan.Enabled {
					p.asanAlloc((*T)(x))
				}
				return (*T)(x)
			}
		}
		pin.Unpin()
		return p.allocSlow() // which unpoisons, under -asan, as alloc does
	}
	x, err := p.tryAlloc("Alloc")
	if err != nil {
		panic(err)
	}
	return x
}

// TryAlloc is like Alloc, but when a bound set with WithMaxObjects is reached
// it returns nil and an error wrapping ErrExhausted. It never blocks and
// never panics on exhaustion.
func (p *Pool[T]) TryAlloc() (*T, error) { return p.tryAlloc("TryAlloc") }

// tryAlloc is TryAlloc for the call op, which its error names.
func (p *Pool[T]) tryAlloc(op string) (*T, error) {
	if p.bound != 0 && !p.admit() {
		return nil, p.exhausted(op)
	}
	if debugMode {
		return p.debugShadow(p.alloc()), nil
	}
	return p.alloc(), nil
}

// admit counts one more live object in a bounded pool, unless the bound is
// reached.
func (p *Pool[T]) admit() bool {
	if p.live.Add(1) > p.bound {
		p.live.Add(-1)
		return false
	}
	return true
}

// exhausted returns the error of an allocation (the call op) from a full
// bounded pool.
// Debug builds name the allocation sites of the live objects in its
// message; default builds name those of the sampled ones, if the pool
// samples (WithSampling, WithGuardSampling), and otherwise say where to
// find them.
func (p *Pool[T]) exhausted(op string) error {
	p.refused.Add(1)
	e := &exhaustedError{op: op, typeName: p.owner.typeName, pool: p.owner.name, bound: p.bound}
	switch {
	case debugMode:
		e.sites = p.debugLiveSites
	case p.sample != nil:
		e.sites = func() string { return liveSitesText(p.sample.objects(nil)) }
		e.sampleEvery = p.sample.every
	}
	return e
}

// Free returns x's slot to the pool. The T is zeroed at once, so that nothing
// it referenced stays reachable through the pool; x must not be used after
// Free. Free(nil) does nothing.
//
// Free panics with an error wrapping ErrDoubleFree if x is already free,
// ErrForeign if the pool did not allocate x (a new(T), a pointer from another
// pool, a pointer into the middle of a slot, a pointer into a slab released
// by Trim), and ErrScoped if x was allocated with AllocIn. The pool is
// unchanged by a call that panics, but for one: if the pool's reset function
// (WithReset) panics, Free zeroes x instead, frees it all the same, and then
// panics with an error wrapping ErrResetPanicked.
func (p *Pool[T]) Free(x *T) {
	if x == nil {
		return
	}
	if debugMode {
		p.debugFree(x)
		return
	}
	// The fast path gives back a slot of this P's current or previous
	// word, written out as in Alloc. The size of T is a constant in each
	// instantiation, so the division in claim compiles to a
	// multiplication.
	// Under -asan, Free poisons the slot, a cgo call, which must not be
	// made pinned: it takes the general path.
	if !asan.Enabled && unsafe.Sizeof(*x) <= pinnedZeroMax && !p.slowFree.Load() {
		pid := pin.Pin()
		if c := p.cache(pid); c != nil {
			mask := &c.free
			j := claim(c.cst, c.mem, c.limit, unsafe.Pointer(x), unsafe.Sizeof(*x))
			if j == noSlot {
				if j = claim(c.pst, c.pmem, c.plim, unsafe.Pointer(x), unsafe.Sizeof(*x)); j != noSlot {
					mask = &c.prev.free
				}
			}
			if j != noSlot {
				if race.Enabled { // a constant: no call remains in default builds
					race.WriteRange(unsafe.Pointer(x), int(unsafe.Sizeof(*x))) // a later use is a race with this Free
				}
				var zero T
				*x = zero
				if race.Enabled {
					race.ReleaseMerge(unsafe.Pointer(x))
				}
				c.put(mask, j)
				pin.Unpin()
				return
			}
		}
		pin.Unpin()
	}
	p.free(p.lookup(x))
}

// free is Free's general path: slots of other words than this P's current
// one, Refs, bounded pools, debug builds and every error.
func (p *Pool[T]) free(r slotRef[T]) {
	if debugMode {
		if err := p.debugFreeSlot(r); err != nil {
			panic(err)
		}
		return
	}
	st := r.st()
	switch *st {
	case stateLive:
	case stateSampled:
		p.sample.forget(p.slotNum(r), 2)
	default:
		p.badFree(r, *st, opFree)
	}
	if p.bound != 0 {
		defer p.live.Add(-1) // once the slot can be found again
	}
	if g := r.s.gens.Load(); g != nil && !p.nextGen(r, *g) {
		return // generations spent: the slot is retired
	}
	x := r.ptr()
	if race.Enabled {
		race.WriteRange(unsafe.Pointer(x), int(p.size))
	}
	if p.reset != nil {
		// The slot is freed even if the reset panics (reset.go).
		*st = stateResetting
		if asan.Enabled {
			p.asanUnpoison(x) // a racing Free may have poisoned it (see racedFree)
		}
		returned := false
		defer func() {
			if !returned {
				p.freeResetFailed(r, x, recover()) // recover is nil under runtime.Goexit
			}
		}()
		p.reset(x)
		returned = true
	} else if asan.Enabled {
		// The state first (the store after this block repeats it): the
		// clear below is slower under -asan, and with the window between
		// the state check and this store that much wider, more racing
		// double frees passed both checks, and TestRacedDoubleFreeStress
		// found Stats.Allocs off after them. A racing Free may have
		// poisoned x already (see racedFree): a typed clear runs in the
		// runtime, which -asan does not instrument, so that this access
		// of the library's own is not reported. Write barriers included,
		// as below.
		*st = stateFree
		clear(unsafe.Slice(x, 1))
	} else {
		var zero T
		*x = zero // a typed store: pointer words are cleared with write barriers
	}
	*st = stateFree
	if asan.Enabled {
		p.asanFree(x) // poisons x before the slot can be handed out again
	}
	if p.putFree(r) {
		p.racedFree(r)
	}
}

// racedFree panics for a Free whose slot putFree found in its word's inbox
// already: the slot is free once, as it should be, and the call is not
// counted. Only racing Frees of one object put a slot into an inbox twice:
// either this call raced another Free of its object, or two Frees of an
// earlier object of the slot raced unnoticed (one on the P that owned the
// slot, one elsewhere), left the slot in the inbox as well, and this is the
// correct Free of the slot's next object. Default builds cannot tell which
// without an atomic instruction on every Free; -race and debug builds
// catch the race itself.
func (p *Pool[T]) racedFree(r slotRef[T]) {
	if p.bound != 0 {
		p.live.Add(1) // the deferred count of the first Free stands
	}
	panic(p.racedFreeError(r))
}

// racedLeftovers counts the slots that racing double frees left in the
// inboxes of words that per-P caches own, not collected yet. Two Frees of
// one live object can both pass the state check when one runs on the P
// that owns the slot's word and the other elsewhere: the first puts the
// slot into its cache, the second into the word's inbox, and both count a
// Free. The owner drops such a bit when it collects the inbox, because the
// slot is in its free slots already or live again, and uncounts the Free
// (pcache.collect); until then the slot counts twice in Stats.Cached, or
// counts as cached while it is live, and in Frees twice. Stats subtracts
// these leftovers, so that its counts are exact at quiescence.
//
// It reads the caches as pcache.counts does, without synchronisation.
//
//go:norace
func (p *Pool[T]) racedLeftovers() int {
	n := 0
	caches := p.allCaches()
	for i := range caches {
		c := &caches[i]
		cur := c.cur
		for _, w := range c.owned[:min(c.n, maxOwned)] {
			if w == nil {
				continue // the P is changing its list
			}
			in := w.inbox.Load()
			if in == 0 {
				continue
			}
			free := w.free
			if w == cur {
				free = c.free | c.sampled
			}
			n += bits.OnesCount64(in &^ validFree(w, in&^free))
		}
	}
	return n
}

// lookup returns the slot x points to, or panics with ErrForeign.
func (p *Pool[T]) lookup(x *T) slotRef[T] { return p.lookupFor(x, opFree) }

// lookupFor is lookup for the call o, which the panic names.
func (p *Pool[T]) lookupFor(x *T, o op) slotRef[T] {
	addr := uintptr(unsafe.Pointer(x))
	sp := slabmap.Lookup(addr)
	if sp == nil || sp.Pool != p.id {
		if sp != nil && p.sample != nil && p.sample.guardEvery > 0 {
			if g := p.sample.ring.Load(); g != nil && sp.Pool == g.id {
				return p.guardSlot(addr, sp, o) // an object on a guard page (WithGuardSampling)
			}
		}
		p.foreign(addr, sp, o)
	}
	off := addr - sp.Base
	i := uint32(uint64(off) * p.divMul >> 32)
	if uintptr(i)*p.size != off {
		p.foreign(addr, sp, o)
	}
	return slotRef[T]{(*slab[T])(sp.Slab), i}
}

func (p *Pool[T]) foreign(addr uintptr, sp *slabmap.Slab, o op) {
	err := p.foreignError(addr, sp, o)
	if debugMode {
		panic(p.debugForeign(err, addr, sp, o))
	}
	panic(err)
}

// badFree panics for Free or RefOf (o) of a slot that is not live: it
// holds a scoped object, or no object at all.
func (p *Pool[T]) badFree(r slotRef[T], st uint8, o op) {
	err := p.badFreeError(r, st, o)
	if debugMode {
		panic(p.debugBadFree(err, r, o))
	}
	panic(err)
}

// slotNum is the pool-wide number of a slot: its slab's position times the
// slots per slab, plus its index. Refs carry it.
func (p *Pool[T]) slotNum(r slotRef[T]) int { return r.s.pos*p.nelems + int(r.i) }

// noCopy may be embedded into structs which must not be copied after first
// use; go vet's copylocks check reports copies.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// heldLocked is the number of assigned slots that are neither live, cached
// nor retired: slots in the debug quarantine, and free slots that scopes took
// and have not handed out.
func (p *Pool[T]) heldLocked() int { return p.debugHeldLocked() + p.sc.freeSlotsLocked() }

package slab

import (
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/pin"
	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/internal/registry"
	"github.com/slabtrack/slabtrack/internal/spanmap"
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
	// line that is written only on rare paths: New, drainCaches and the
	// first Ref.

	// local is the array of per-P caches, indexed by P id, of localSize
	// entries. localSize is 0 while drainCaches runs; Alloc and Free then go
	// to the central free set directly.
	local     unsafe.Pointer
	localSize uintptr
	bound     int64 // WithMaxObjects; 0 = unbounded
	// slowFree is set if Free must take its general path: the pool is
	// bounded (each Free counts the live objects down), has a reset
	// function (WithReset), or has issued Refs (each Free bumps the slot's
	// generation).
	slowFree atomic.Bool
	_        [64 - 8 - 8 - 8 - 4]byte

	// live counts live objects of a bounded pool, on a line of its own.
	live atomic.Int64
	_    [56]byte

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

	size       uintptr // unsafe.Sizeof(T)
	divMul     uint64  // ceil(2^32 / size): slot index = offset * divMul >> 32
	nelems     int     // slots per span
	ownedLimit int     // the most words a cache owns, see ownedLimit
	id         uint64  // spanmap.Span.Pool of every span of this pool
	owner      *owner
	cfg        config
	reset      func(*T) // WithReset, or nil: zero freed objects
	sample     *sampler // WithSampling, or nil
	//lint:ignore U1000 empty and unread in release builds; debug_on.go keeps its state here
	dbg poolDebug[T]

	drainMu sync.Mutex // serialises drainCaches

	mu sync.Mutex // guards the fields below and every span's central fields
	// spans holds every span by position, nil where Trim released one.
	spans []*span[T]
	// refTable is the same, for Get and FreeRef, which read it without the
	// lock: entries are atomic, and a full table is replaced by one twice
	// as large.
	refTable atomic.Pointer[[]atomic.Pointer[span[T]]]
	// freePos lists positions of released spans, for reuse.
	freePos []int
	// genFloor is, per position, the lowest Ref generation that a new span
	// at that position may issue, so Refs into a released span stay stale.
	genFloor []uint64
	// partial holds the spans with free slots in the central free set.
	partial   []*span[T]
	capacity  int
	assigned  int // slots not in the central free set (see span.allocBits)
	highWater int
	retired   int
	// slowFrees counts the Frees that neither a cache nor an inbox
	// counted: retired slots, and debug builds' quarantine. Allocs are
	// derived: Frees + Live.
	slowFrees uint64
	released  uint64 // spans handed back to the GC
	// Activity seen by the last OnGC, and for how many cycles it has not
	// changed.
	lastActivity [3]uint64
	idleCycles   int

	sc scopeDepot[T] // the pool's side of Scopes, see scope.go
}

// owner describes a pool to the address map and holds the map entries of
// its spans, so that they can be removed when the pool is collected. It holds
// no reference to the Pool.
type owner struct {
	name, typeName string

	mu    sync.Mutex
	metas map[*spanmap.Span]struct{}
}

func (o *owner) Name() string     { return o.name }
func (o *owner) TypeName() string { return o.typeName }

func (o *owner) add(m *spanmap.Span) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := spanmap.Register(m); err != nil {
		return err
	}
	o.metas[m] = struct{}{}
	return nil
}

func (o *owner) remove(m *spanmap.Span) {
	o.mu.Lock()
	defer o.mu.Unlock()
	spanmap.Unregister(m)
	delete(o.metas, m)
}

// unregisterAll runs as the pool's cleanup, once the pool is unreachable.
func (o *owner) unregisterAll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for m := range o.metas {
		spanmap.Unregister(m)
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
		panic(fmt.Errorf("slab: New[%s]: zero-size types are not supported: their values need not have distinct addresses", typ))
	}
	if size > maxObjectSize {
		panic(fmt.Errorf("slab: New[%s]: type of %d bytes exceeds the %d-byte limit", typ, size, maxObjectSize))
	}
	cfg := defaultConfig()
	for _, opt := range opts {
		if opt == nil {
			panic(fmt.Errorf("slab: New[%s]: nil Option", typ))
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
			panic(fmt.Errorf("slab: New[%s]: WithReset takes a %T, not a func(*%s)", typ, cfg.reset, typ))
		}
	}
	p := &Pool[T]{
		size:   size,
		divMul: (1<<32 + uint64(size) - 1) / uint64(size),
		nelems: slotsPerSpan(size, cfg.slabSlots),
		bound:  int64(cfg.maxObjects),
		id:     spanmap.NewPoolID(),
		owner:  &owner{name: cfg.name, typeName: typeName, metas: map[*spanmap.Span]struct{}{}},
		cfg:    cfg,
	}
	p.ownedLimit = ownedLimit(size, p.nelems)
	p.reset = reset
	if cfg.sampleEvery > 0 && !debugMode {
		p.sample = &sampler{every: cfg.sampleEvery, recs: map[int]sampleRec{}}
	}
	p.slowFree.Store(p.bound != 0 || reset != nil)
	p.refTable.Store(new([]atomic.Pointer[span[T]]))
	p.setCaches(runtime.GOMAXPROCS(0))
	runtime.AddCleanup(p, (*owner).unregisterAll, p.owner)
	if debugMode {
		p.debugInit()
	}
	registry.Register((*tracked[T])(p))
	return p
}

// Span sizing. A span is one Go large object (over 32 KiB), because the Go
// allocator starts large objects on a page boundary and gives them whole
// pages, which lets the address map find a span from any address in it.
const (
	minSpanBytes     = 40 << 10
	defaultSpanBytes = 64 << 10
	maxSpanBytes     = 1 << 31
)

// slotsPerSpan returns how many slots of size bytes a span holds when the
// caller asked for want slots (0 = default): at least minSpanBytes, whole
// pages, every byte of the last page used.
func slotsPerSpan(size uintptr, want int) int {
	bytes := uintptr(defaultSpanBytes)
	if want > 0 {
		if uintptr(want) > maxSpanBytes/size {
			want = int(maxSpanBytes / size)
		}
		bytes = uintptr(want) * size
	}
	bytes = max(bytes, minSpanBytes, size)
	bytes = (bytes + spanmap.PageSize - 1) &^ (spanmap.PageSize - 1)
	return int(bytes / size)
}

// Name returns the pool's name, as set by WithName, or the element type.
func (p *Pool[T]) Name() string { return p.owner.name }

// TypeName returns the name of *T, such as "*main.Order".
func (p *Pool[T]) TypeName() string { return p.owner.typeName }

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
				return (*T)(x)
			}
		}
		pin.Unpin()
		return p.allocSlow()
	}
	x, err := p.TryAlloc()
	if err != nil {
		panic(err)
	}
	return x
}

// TryAlloc is like Alloc, but when a bound set with WithMaxObjects is reached
// it returns nil and an error wrapping ErrExhausted. It never blocks and
// never panics on exhaustion.
func (p *Pool[T]) TryAlloc() (*T, error) {
	if p.bound != 0 && !p.admit() {
		return nil, p.exhausted()
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

func (p *Pool[T]) exhausted() error {
	return fmt.Errorf("%w: %s (pool %q) has %d live objects, its bound",
		ErrExhausted, p.owner.typeName, p.owner.name, p.bound)
}

// Free returns x's slot to the pool. The T is zeroed at once, so that nothing
// it referenced stays reachable through the pool; x must not be used after
// Free. Free(nil) does nothing.
//
// Free panics with an error wrapping ErrDoubleFree if x is already free,
// ErrForeign if the pool did not allocate x (a new(T), a pointer from another
// pool, a pointer into the middle of a slot, a pointer into a slab released
// by Trim), and ErrScoped if x was allocated with AllocIn. The pool is
// unchanged by a call that panics.
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
	if unsafe.Sizeof(*x) <= pinnedZeroMax && !p.slowFree.Load() {
		pid := pin.Pin()
		if c := p.cache(pid); c != nil {
			mask := &c.free
			j := claim(c.cur, c.mem, c.limit, unsafe.Pointer(x), unsafe.Sizeof(*x))
			if j == noSlot {
				if j = claim(c.prev, c.pmem, c.plim, unsafe.Pointer(x), unsafe.Sizeof(*x)); j != noSlot {
					mask = &c.prev.free
				}
			}
			if j != noSlot {
				if race.Enabled { // a constant: no call remains in release builds
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
		p.debugFreeSlot(r)
		return
	}
	st := r.st()
	switch *st {
	case stateLive:
	case stateSampled:
		p.sample.forget(p.slotNum(r))
	default:
		p.badFree(r, *st)
	}
	if p.bound != 0 {
		defer p.live.Add(-1) // once the slot can be found again
	}
	if g := r.s.gens.Load(); g != nil && !p.nextGen(r, *g) {
		return // generations spent: the slot is retired
	}
	*st = stateFree
	x := r.ptr()
	if race.Enabled {
		race.WriteRange(unsafe.Pointer(x), int(p.size))
	}
	p.clearObject(x)
	if p.putFree(r) {
		p.racedFree(r)
	}
}

// clearObject readies a freed object for its next user: it zeroes it, or
// runs the pool's reset function (WithReset).
func (p *Pool[T]) clearObject(x *T) {
	if p.reset != nil {
		p.reset(x)
		return
	}
	var zero T
	*x = zero // a typed store: pointer words are cleared with write barriers
}

// racedFree panics for a Free whose slot was freed by another goroutine at
// the same time: putFree found it in the inbox already. The slot is free
// once, as it should be.
func (p *Pool[T]) racedFree(r slotRef[T]) {
	if p.bound != 0 {
		p.live.Add(1) // the deferred count of the first Free stands
	}
	panic(fmt.Errorf("%w (freed by two goroutines at once)", slotError(ErrDoubleFree, p.owner.typeName, p.owner.name, p.slotNum(r))))
}

// lookup returns the slot x points to, or panics with ErrForeign.
func (p *Pool[T]) lookup(x *T) slotRef[T] {
	addr := uintptr(unsafe.Pointer(x))
	sp := spanmap.Lookup(addr)
	if sp == nil || sp.Pool != p.id {
		p.foreign(addr, sp)
	}
	off := addr - sp.Base
	i := uint32(uint64(off) * p.divMul >> 32)
	if uintptr(i)*p.size != off {
		p.foreign(addr, sp)
	}
	return slotRef[T]{(*span[T])(sp.Slab), i}
}

func (p *Pool[T]) foreign(addr uintptr, sp *spanmap.Span) {
	err := p.foreignError(addr, sp)
	if debugMode {
		panic(p.debugViolation(err, addr, sp))
	}
	panic(err)
}

// foreignError is the error of Free of addr, which lies in the span sp (nil
// if none) but is not a slot of this pool.
func (p *Pool[T]) foreignError(addr uintptr, sp *spanmap.Span) error {
	var why string
	switch {
	case sp == nil:
		why = "not in any slab (a new value, or a slab released by Trim)"
	case sp.Pool != p.id:
		why = fmt.Sprintf("in a slab of pool %q (%s)", sp.Owner.Name(), sp.Owner.TypeName())
	default:
		why = fmt.Sprintf("%d bytes into a %d-byte slot", (addr-sp.Base)%p.size, p.size)
	}
	return fmt.Errorf("%w: %s %#x passed to pool %q is %s", ErrForeign, p.owner.typeName, addr, p.owner.name, why)
}

// badFree panics for Free of a slot that is not live.
func (p *Pool[T]) badFree(r slotRef[T], st uint8) {
	var err error
	switch st {
	case stateScoped:
		// Release builds do not tell a scope's objects from the free
		// slots it holds: both cases are named.
		err = fmt.Errorf("%w: Free of %s (pool %q, slot %d), a slot that a Scope holds: an object allocated with AllocIn is freed by Scope.Release; "+
			"an object allocated with Alloc was freed already, and a scope has taken its slot since (a double free)",
			ErrScoped, p.owner.typeName, p.owner.name, p.slotNum(r))
	default:
		err = slotError(ErrDoubleFree, p.owner.typeName, p.owner.name, p.slotNum(r))
	}
	if debugMode {
		panic(p.debugBadFree(err, r))
	}
	panic(err)
}

// slotNum is the pool-wide number of a slot: its span's position times the
// slots per span, plus its index. Refs carry it.
func (p *Pool[T]) slotNum(r slotRef[T]) int { return r.s.pos*p.nelems + int(r.i) }

// noCopy may be embedded into structs which must not be copied after first
// use; go vet's copylocks check reports copies.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// heldLocked is the number of assigned slots that are neither live, cached
// nor retired: slots in the debug quarantine, and free slots that scopes took
// and have not handed out.
func (p *Pool[T]) heldLocked() int { return p.debugHeldLocked() + p.sc.freeLocked() }

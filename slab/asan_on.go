//go:build asan

package slab

import (
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/clock"
	"github.com/slabtrack/slabtrack/internal/guard"
	"github.com/slabtrack/slabtrack/internal/poison"
	"github.com/slabtrack/slabtrack/internal/registry"
	"github.com/slabtrack/slabtrack/internal/stack"
)

// AddressSanitizer builds (go build -asan). Every slot the pool does not
// hand out is poisoned in ASan's shadow memory: the slots of a new slab,
// and each slot that Free, Scope.Release or the debug quarantine takes
// back; Alloc, AllocIn and the other allocating calls unpoison the slot
// they hand out. Scope memory likewise: a chunk is poisoned when it is
// made, an allocation unpoisoned when it is handed out, and the chunk's
// used part poisoned again at Release. Any read or write of freed memory
// by Go code is then reported by AddressSanitizer at the access, and
// package asan's callback adds what slabtrack knows of it: the pool, the
// slot and field, and where the object was allocated and freed.
//
// Default builds record no stacks; -asan builds record one per allocation
// and per free, asanDepth frames deep, for those reports (debug builds
// record their own, as their settings say, and pass them here). The shared
// paths call the functions below behind "if asan.Enabled", a constant: in
// other builds asan_off.go's empty functions stand in, and the calls
// compile to nothing.

// asanDepth is the number of frames -asan builds record per allocation and
// free, beyond slabtrack's own.
const asanDepth = 16

// asanCaller records the stack of the allocating or freeing call, in
// release -asan builds; debug builds' hooks record their own.
func asanCaller() uint32 {
	if debugMode {
		return 0
	}
	return uint32(stack.Capture(2, asanDepth+8))
}

// asanOwners holds the owners of the pools' and the scope memory's regions,
// one per name and type: pools come and go by the thousand in tests, and
// the C records of an owner are never freed.
var asanOwners sync.Map // asanOwnerKey -> asan.Owner

type asanOwnerKey struct {
	pool, typ string
	size      uintptr
	scope     bool
}

// asanOwnerOf returns the owner of the objects of type t (size bytes apart)
// named pool and typ, or of scope memory of t with scope set.
func asanOwnerOf(t reflect.Type, pool, typ string, size uintptr, scope bool) asan.Owner {
	k := asanOwnerKey{pool, typ, size, scope}
	if o, ok := asanOwners.Load(k); ok {
		return o.(asan.Owner)
	}
	o := asan.NewOwner(pool, typ, t.Size(), scope)
	// The fields, for the report to name the one accessed. A type with
	// very many (large arrays) is named by offset past the first ones.
	l := poison.For(t)
	for off, n := uintptr(0), 0; off < t.Size() && n < 4096; n++ {
		name, from, to := l.Field(off)
		if to <= off {
			break
		}
		if name != "" {
			o.AddField(from, to, name)
		}
		off = to
	}
	if old, loaded := asanOwners.LoadOrStore(k, o); loaded {
		return old.(asan.Owner)
	}
	return o
}

// asanNewSlab records the new slab s and poisons its slots: none is handed
// out yet. Its record goes when the garbage collector collects its memory
// (a slab that Trim released stays in memory while pointers into it
// remain, and its records serve the reports of their use).
func (p *Pool[T]) asanNewSlab(s *slab[T]) {
	o := asanOwnerOf(reflect.TypeFor[T](), p.owner.name, p.owner.typeName, p.size, false)
	base, n := s.base(), uintptr(len(s.mem))*p.size
	r := asan.AddRegion(base, base+n, p.size, o, s.pos*p.nelems)
	asan.Poison(unsafe.Pointer(&s.mem[0]), n)
	if !s.dbg.mapped() {
		runtime.AddCleanup(&s.mem[0], asanForget, asanRegion{base, r})
	}
}

type asanRegion struct {
	base uintptr
	r    asan.Region
}

func asanForget(r asanRegion) { asan.RemoveRegion(r.base, r.r) }

// asanTrimmedSlab notes that Trim released s.
func (p *Pool[T]) asanTrimmedSlab(s *slab[T]) { asan.ReleasedRegion(s.base()) }

// asanAlloc unpoisons x, which an allocating call hands out, and records
// the allocation (default builds: debugAlloc records it in debug builds).
func (p *Pool[T]) asanAlloc(x *T) {
	if debugMode {
		return
	}
	asan.Handed(unsafe.Pointer(x), p.size, asanCaller(), clock.Now())
}

// asanUnpoison unpoisons x, which Free is freeing, for the pool's reset
// function to run on: a racing Free of x may have poisoned it already,
// which default builds let pass (see racedFree), and the reset function's
// accesses, the library's own, must not be reported.
func (p *Pool[T]) asanUnpoison(x *T) { asan.Unpoison(unsafe.Pointer(x), p.size) }

// asanFree records the free of x, zeroed or reset already, and poisons it
// (default builds: finishFree does it in debug builds).
func (p *Pool[T]) asanFree(x *T) {
	asan.Freed(unsafe.Pointer(x), p.size, asanCaller(), clock.Now())
}

// asanUnpoisonStandIn unpoisons the slot x that stands in the slab for an
// object on a guard page (WithGuardSampling): the program never holds it,
// and Free zeroes it.
func asanUnpoisonStandIn(x unsafe.Pointer, size uintptr) { asan.Unpoison(x, size) }

// asanAllocIn unpoisons the slot x of size bytes, which AllocIn hands out,
// and records the allocation.
func asanAllocIn(x unsafe.Pointer, size uintptr) {
	asan.Handed(x, size, asanCaller(), clock.Now())
}

// asanReleased poisons the n slots at x, size bytes apart, which
// Scope.Release has zeroed, and records their free.
func asanReleased(x unsafe.Pointer, n int, size uintptr) {
	id, now := asanCaller(), clock.Now()
	for k := range n {
		asan.Freed(unsafe.Add(x, uintptr(k)*size), size, id, now)
	}
}

// asanNewChunk records the chunk of n bytes at p, just made for et, and
// poisons it: nothing in it is handed out yet. Its record goes when the
// garbage collector collects it.
func (et *elemType) asanNewChunk(p unsafe.Pointer, n uintptr) {
	r := et.asanChunk(p, n)
	runtime.AddCleanup((*byte)(p), asanForget, asanRegion{uintptr(p), r})
}

// asanChunk records the chunk of n bytes at p as et's scope memory, and
// poisons it.
func (et *elemType) asanChunk(p unsafe.Pointer, n uintptr) asan.Region {
	o := asanOwnerOf(et.typ, "(scope memory)", reflect.SliceOf(et.typ).String(), et.size, true)
	r := asan.AddRegion(uintptr(p), uintptr(p)+n, 0, o, 0)
	asan.Poison(p, n)
	return r
}

// asanAlloc unpoisons the n bytes at p that the arena hands out, and
// records the allocation: with the stack that debug builds recorded for it
// (noteAlloc), or one of its own.
func (a *arena) asanAlloc(p unsafe.Pointer, n uintptr) {
	id, at := a.debugLastAlloc()
	if !debugMode {
		id, at = stack.ID(asanCaller()), clock.Now()
	}
	asan.Handed(p, n, uint32(id), at)
}

// asanGrow unpoisons the allocation at p, grown in place to n bytes.
func asanGrow(p unsafe.Pointer, n uintptr) { asan.Grown(p, n) }

// asanRelease poisons the part of the chunk ch that the released arena
// used, zeroed already, and records the release (default builds: debug
// builds poison in releaseDebug).
func asanRelease(ch *arenaChunk) {
	if ch.used > 0 {
		asan.Freed(ch.p, ch.used, asanCaller(), clock.Now())
	}
}

// Scope memory of pointer-free types on guard pages (-asan builds without
// slabdebug; debug builds do the same in debug_arena.go). Go's -asan leaves
// some reads of memory uninstrumented: the comparison of a string with a
// constant, which loads its bytes in place, and runtime.memequal, which
// compares longer ones. So that a released scope's strings are caught
// there too, the chunks of pointer-free types are guard slabs, one per
// chunk, made inaccessible at Release and held in a quarantine of
// asanQuarantine chunks per type before reuse; such a read faults at the
// access, a panic that tracker.CatchFaults reports (with
// tracker.PanicOnFault on the goroutine), or else a crash there. Where a
// chunk cannot be mapped or protected (the map-count budget spent), it is
// Go memory, poisoned in the shadow only.

// asanQuarantine is how many released guarded chunks of each type wait
// before reuse.
const asanQuarantine = 16

// asanChunks are the guarded chunks of one element type.
type asanChunks struct {
	et     *elemType
	layout *poison.Layout
	id     uint64 // in internal/registry: the guard slabs' owner

	mu    sync.Mutex
	all   []*guard.Slab // by index, the slabs' Owner.FirstSlot
	free  [chunkClasses][]*guard.Slab
	ring  []asanQChunk // the quarantine, oldest first
	class map[*guard.Slab]int
}

type asanQChunk struct {
	s     *guard.Slab
	class int
}

var (
	asanChunkSets   sync.Map // *elemType -> *asanChunks
	asanChunkSetsMu sync.Mutex
)

func asanChunksOf(et *elemType) *asanChunks {
	if c, ok := asanChunkSets.Load(et); ok {
		return c.(*asanChunks)
	}
	asanChunkSetsMu.Lock()
	defer asanChunkSetsMu.Unlock()
	if c, ok := asanChunkSets.Load(et); ok {
		return c.(*asanChunks)
	}
	c := &asanChunks{et: et, layout: poison.For(et.typ), class: map[*guard.Slab]int{}}
	c.id = registry.RegisterSource(c)
	asanChunkSets.Store(et, c)
	return c
}

// asanGuardedChunk returns a chunk of n values of et on a guard slab,
// accessible, zero and poisoned in the shadow; nil for types with pointers,
// in debug builds, or if none can be mapped.
func (et *elemType) asanGuardedChunk(n uintptr) unsafe.Pointer {
	if debugMode || et.ptrs || !guard.Supported() {
		return nil
	}
	c := asanChunksOf(et)
	bytes := n * et.size
	class := classOf(bytes)
	c.mu.Lock()
	defer c.mu.Unlock()
	if class < chunkClasses {
		if k := len(c.free[class]); k > 0 {
			s := c.free[class][k-1]
			c.free[class] = c.free[class][:k-1]
			return s.Slot(0) // poisoned since its Release
		}
	}
	s, err := guard.NewSlab(bytes, 1, guard.Owner{Pool: c.id, FirstSlot: len(c.all), Fields: c.layout.Fields()})
	if err != nil {
		return nil
	}
	c.all = append(c.all, s)
	c.class[s] = class
	et.asanChunk(s.Slot(0), bytes) // never unmapped: its record stays
	return s.Slot(0)
}

// asanReleaseGuarded releases ch, a chunk of et that a released arena
// used, if it is a guarded one, and reports whether it was: its
// allocations are recorded as released and poisoned, its pages protected,
// and it joins the quarantine, pushing out the oldest chunk, which becomes
// accessible (and zero) for reuse.
func asanReleaseGuarded(et *elemType, ch arenaChunk) bool {
	if debugMode || et.ptrs {
		return false
	}
	s, i, off, ok := guard.Lookup(uintptr(ch.p))
	if !ok || i != 0 || off != 0 {
		return false
	}
	v, _ := asanChunkSets.Load(et)
	c, _ := v.(*asanChunks)
	if c == nil || s.Owner().Pool != c.id {
		return false
	}
	asan.Freed(ch.p, ch.used, asanCaller(), clock.Now())
	c.mu.Lock()
	defer c.mu.Unlock()
	class := c.class[s]
	if err := s.Protect(0, true); err != nil {
		// The budget is spent: zero it and reuse it unprotected.
		asan.Unpoison(ch.p, ch.used)
		clear(unsafe.Slice((*byte)(ch.p), ch.used)) // pointer-free memory
		asan.Poison(ch.p, ch.used)
		c.reuseLocked(s, class)
		return true
	}
	c.ring = append(c.ring, asanQChunk{s, class})
	if len(c.ring) > asanQuarantine {
		out := c.ring[0]
		copy(c.ring, c.ring[1:])
		c.ring = c.ring[:len(c.ring)-1]
		if err := out.s.Unprotect(0); err == nil { // its pages read as zero
			c.reuseLocked(out.s, out.class)
		}
	}
	return true
}

// reuseLocked makes the accessible chunk s of class class free for reuse,
// or retires it, a chunk of its own. c.mu is held.
func (c *asanChunks) reuseLocked(s *guard.Slab, class int) {
	if class == chunkClasses {
		_ = s.Retire()
		return
	}
	c.free[class] = append(c.free[class], s)
}

// Name names the memory in reports, where a pool's name stands.
func (c *asanChunks) Name() string { return "(scope memory)" }

// TypeName names the memory's type in reports, "[]main.Line".
func (c *asanChunks) TypeName() string { return "[]" + c.et.typ.String() }

// DescribeFault describes nothing: faults on guarded chunks go to
// DescribeAccess.
func (c *asanChunks) DescribeFault(int, uint32) registry.FaultSlot { return registry.FaultSlot{} }

// DescribeAccess describes an access at offset off of guarded chunk slot,
// from the records of package asan.
func (c *asanChunks) DescribeAccess(slot int, off uintptr) (fs registry.FaultSlot, rec int, field string) {
	c.mu.Lock()
	var s *guard.Slab
	if slot >= 0 && slot < len(c.all) {
		s = c.all[slot]
	}
	c.mu.Unlock()
	if s == nil {
		return registry.FaultSlot{}, -1, ""
	}
	pc, ok := asan.Describe(uintptr(s.Slot(0)) + off)
	fs.Found = true
	fs.Note = "the object is an element of a slice, string or value that a scope allocated (NewIn, MakeSliceIn, AppendIn, StringIn...) and released"
	if !ok {
		return fs, -1, ""
	}
	field = fmt.Sprintf("[%d]", pc.Off/c.et.size)
	if name, _, _ := c.layout.Field(pc.Off % c.et.size); name != "" {
		field += "." + name
	}
	fs.Addr = pc.Start
	fs.Alloc, fs.Free = stack.ID(pc.Alloc), stack.ID(pc.Free)
	fs.AllocAt, fs.FreeAt = pc.AllocAt, pc.FreeAt
	return fs, pc.Index, field
}

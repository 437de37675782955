//go:build asan

package slab

import (
	"reflect"
	"runtime"
	"sync"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/clock"
	"github.com/slabtrack/slabtrack/internal/poison"
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
// Release builds record no stacks; -asan builds record one per allocation
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

// asanNewSpan records the new span s and poisons its slots: none is handed
// out yet. Its record goes when the garbage collector collects its memory
// (a slab that Trim released stays in memory while pointers into it
// remain, and its records serve the reports of their use).
func (p *Pool[T]) asanNewSpan(s *span[T]) {
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

// asanReleasedSpan notes that Trim released s.
func (p *Pool[T]) asanReleasedSpan(s *span[T]) { asan.ReleasedRegion(s.base()) }

// asanAlloc unpoisons x, which an allocating call hands out, and records
// the allocation (release builds: debugAlloc records it in debug builds).
func (p *Pool[T]) asanAlloc(x *T) {
	if debugMode {
		return
	}
	asan.Handed(unsafe.Pointer(x), p.size, asanCaller(), clock.Now())
}

// asanFree records the free of x, zeroed already, and poisons it (release
// builds: finishFree does it in debug builds).
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
// used, zeroed already, and records the release (release builds: debug
// builds poison in releaseDebug).
func asanRelease(ch *arenaChunk) {
	if ch.used > 0 {
		asan.Freed(ch.p, ch.used, asanCaller(), clock.Now())
	}
}

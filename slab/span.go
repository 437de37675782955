package slab

import (
	"sync/atomic"
	"unsafe"

	"github.com/bits-and-blooms/bitset"

	"github.com/slabtrack/slabtrack/internal/spanmap"
)

// Slot states, one byte per slot in span.state. The byte is written only by
// the goroutine that holds the slot (its user, or the cache or scope that
// owns it), so neighbouring slots are marked from different goroutines without
// atomics: a bitset word could not be shared that way.
const (
	stateFree    uint8 = iota // in a span's free set or in a per-P cache
	stateLive                 // handed out by Alloc, TryAlloc or AllocRef
	stateScoped               // handed out by AllocIn; freed by Scope.Release
	stateRetired              // its Ref generation is spent; never reused
)

// A span is one slab: a contiguous array of slots and the bookkeeping of which
// are assigned.
type span[T any] struct {
	// mem holds the slots. It is ordinary Go memory, so the GC scans the
	// pointer fields of T; freed slots are zeroed with typed stores.
	mem []T
	// state is the slot's lifecycle state, see stateFree.
	state []uint8
	// gens holds the Ref generation of each slot; nil until the first AllocRef
	// or RefOf. Atomic, because a stale Ref may be checked while the slot is
	// freed and reused elsewhere.
	// from this span. The generation of a live slot is the one its Ref
	// carries; Free increments it, so every earlier Ref is stale.
	gens atomic.Pointer[[]atomic.Uint32]
	// bytes is the length of mem in bytes.
	bytes uintptr
	// pos is the span's index in Pool.table.
	pos int
	// meta is the span's entry in the process-wide address map.
	meta spanmap.Span
	// dbg holds debug builds' per-slot records; empty in release builds.
	dbg spanDebug

	// The fields below are guarded by Pool.mu.

	// allocBits has 1 for each slot assigned to a user, a per-P cache or a
	// scope, or retired. The central free set is its complement.
	allocBits *bitset.BitSet
	// nalloc is the number of 1 bits in allocBits; nalloc == len(mem) means
	// the span is full and is not on Pool.partial.
	nalloc int
	// freeindex: every slot below it is assigned. Slots are handed out from
	// the lowest free index so that the live set stays dense.
	freeindex uint
	// partialIdx is the span's index in Pool.partial, or -1.
	partialIdx int
	// idleGCs counts the successive GCs that found the span empty.
	idleGCs int
}

func (s *span[T]) base() uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(s.mem))) }

// slotRef names one slot. Per-P caches and scopes hold slotRefs; the pointer
// to the span keeps a span with cached slots reachable, as it must.
type slotRef[T any] struct {
	s *span[T]
	i uint32
}

func (r slotRef[T]) ptr() *T { return &r.s.mem[r.i] }

package slab

import (
	"sync/atomic"
	"unsafe"

	"github.com/bits-and-blooms/bitset"

	"github.com/slabtrack/slabtrack/internal/spanmap"
)

// Slot states, one byte per slot in word.state. The byte is written only by
// the goroutine that holds the slot (its user, or the per-P cache or scope
// that owns it), so neighbouring slots are marked from different goroutines
// without atomics: a bitset word could not be shared that way.
const (
	stateFree      uint8 = iota // in a free set: central, a per-P cache's, a scope's, or an inbox
	stateLive                   // handed out by Alloc, TryAlloc or AllocRef
	stateScoped                 // handed out by AllocIn, or held by a scope; freed by Scope.Release
	stateRetired                // its Ref generation is spent; never reused
	stateSampled                // live, like stateLive, and its allocation stack was recorded (WithSampling)
	stateResetting              // being freed (by Free, or by its scope's Release): the pool's reset function runs on it (WithReset)
)

// isLive reports whether a slot in state st is an object that Free takes.
func isLive(st uint8) bool { return st == stateLive || st == stateSampled }

// A span is one slab: a contiguous array of slots and the bookkeeping of which
// are assigned.
type span[T any] struct {
	// mem holds the slots. It is ordinary Go memory, so the GC scans the
	// pointer fields of T; freed slots are zeroed with typed stores.
	mem []T
	// words holds a record per run of 64 slots (one allocBits word): the
	// run's owner and its inbox, see word; states holds the runs' slot
	// states, a cache line each.
	words  []word
	states []wordState
	// gens holds the Ref generation of each slot; nil until the first
	// AllocRef or RefOf from this span. The generation of a live slot is the
	// one its Ref carries; Free increments it, so every earlier Ref is
	// stale. Atomic, because a stale Ref may be checked while the slot is
	// freed and reused elsewhere.
	gens atomic.Pointer[[]atomic.Uint32]
	// bytes is the length of mem in bytes.
	bytes uintptr
	// pos is the span's index in Pool.spans.
	pos int
	// meta is the span's entry in the process-wide address map.
	meta spanmap.Span
	// dbg holds debug builds' per-slot records; empty in release builds.
	dbg spanDebug

	// The fields below are guarded by Pool.mu.

	// allocBits has 1 for each slot that is not in the central free set:
	// live, scoped or retired, held free by a per-P cache or a scope, in
	// an inbox, or in the debug quarantine. The central free set is its
	// complement, and only words owned by the central free set
	// (word.owner == ownerCentral) have clear bits.
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

// validMask returns the bits of word w that are slots of s: all 64, except
// in a last word that the span's end cuts short.
func (s *span[T]) validMask(w int) uint64 { return validMask(uint32(min(64, len(s.mem)-w*64))) }

// validMask returns the mask of the first n of a word's slots.
func validMask(n uint32) uint64 {
	if n >= 64 {
		return ^uint64(0)
	}
	return 1<<n - 1
}

// A word is the bookkeeping of a run of 64 adjacent slots of a span (the
// last run may be shorter): the unit of ownership that keeps the hot path
// free of shared cache lines.
//
// Each word has one owner at a time: the central free set (under Pool.mu),
// or one P's cache. Only the owner hands out the word's free slots, and a
// Free on the owner's P puts the slot back with plain stores. A Free
// anywhere else (another P, or while the caches are drained) puts the slot
// in the word's inbox, an atomic mask that the owner collects in one swap
// when it runs out of free slots. So in the steady state no line of
// bookkeeping is written by two Ps: a P writes the state bytes and the free
// mask of its own words, and a slot freed on another P goes home through
// the inbox, one atomic OR each, collected 64 at a time.
//
// Scopes take free slots of central words in batches (the word stays the
// central set's) and give them back under Pool.mu, or through the inbox if
// a P owns the word by then.
//
// A word's slot states are a cache line of their own (wordState, in an
// array without pointers, which Go allocates at 64-byte offsets), and the
// rest is one 64-byte record. 64 slots of any size fill whole lines, since
// 64 × size is a multiple of 64: the objects of two words never share a
// line either. The records' array holds pointers, so Go may place it 8
// bytes off a line boundary (the heap's type header): a record's last 8
// bytes, owner and queued, written only when the word changes hands, may
// then share a line with the next record's first fields.
type word struct {
	// inbox has bit k set for slot k freed by a goroutine that does not own
	// the word. Any goroutine ORs into it; the owner takes it with Swap.
	inbox atomic.Uint64
	// free has bit k set for slot k free in the owning cache, while the
	// word is owned by a P but is not the cache's current word (whose mask
	// the cache keeps itself). Written by the owning P only.
	free uint64
	// state is the word's slot states.
	state *wordState
	// next links the pool's list of central words whose inbox may hold
	// slots (Pool.inboxes).
	next *word
	// mem is the address of slot base, span the *span[T] that holds the
	// run, base the index of the run's first slot in it and nslots its
	// number of slots. Set when the span is made.
	mem    unsafe.Pointer
	span   unsafe.Pointer
	base   uint32
	nslots uint32
	// owner is ownerCentral, ownerMoving, or 1 + the id of the P whose
	// cache owns the word. Changed by the owner only.
	owner atomic.Uint32
	// queued is set while the word is on Pool.inboxes.
	queued atomic.Bool
}

// wordState holds the state of each slot of a word, see stateFree.
type wordState [64]uint8

// Values of word.owner other than a P's.
const (
	ownerCentral = 0
	// ownerMoving marks a word on its way from the central set to a P's
	// cache: taken under Pool.mu, installed once the taker is pinned again.
	ownerMoving = ^uint32(0)
)

// slotRef names one slot. Per-P caches and scopes hold slotRefs; the pointer
// to the span keeps a span with cached slots reachable, as it must.
type slotRef[T any] struct {
	s *span[T]
	i uint32
}

func (r slotRef[T]) ptr() *T {
	if debugMode {
		// A debug build's span on guard pages has a slot every stride
		// bytes, not every element of mem.
		if stride := r.s.dbg.stride(); stride != 0 {
			return (*T)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(r.s.mem)), uintptr(r.i)*stride))
		}
	}
	return &r.s.mem[r.i]
}

// word returns the word of r's slot.
func (r slotRef[T]) word() *word { return &r.s.words[r.i/64] }

// st returns r's state byte.
func (r slotRef[T]) st() *uint8 { return &r.s.states[r.i/64][r.i%64] }

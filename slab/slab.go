package slab

import (
	"sync/atomic"
	"unsafe"

	"github.com/bits-and-blooms/bitset"

	"github.com/slabtrack/slabtrack/internal/slabmap"
)

// Slot states, one byte per slot in word.state. The byte is written only by
// the goroutine that holds the slot (its user, or the per-P cache or scope
// that owns it), so neighbouring slots are marked from different goroutines
// without atomics: a bitset word could not be shared that way.
//
// The life of a slot, in default builds:
//
//	                  (a)
//	+-----------+ -------------> +--------------+    (c)    +--------------+
//	| stateFree |                | stateLive,   | --------> | stateRetired |
//	|           | <------------- | stateSampled |           +--------------+
//	+-----------+      (b)       +--------------+
//	  |  ^   ^                           |
//	  |  |   |        (e)                | (d)
//	  |  |   +------------------+        |
//	  |  |                      |        v
//	  |  |                  +----------------+
//	  |  |                  | stateResetting |
//	  |  |                  +----------------+
//	  |  |                     |          ^
//	  |  | (g)             (i) |          | (h)
//	  |  |                     v          |
//	  |  |                  +----------------+
//	  |  +----------------- |  stateScoped   | ---+
//	  +-------------------> |                |    | (j)
//	           (f)          +----------------+ <--+
//
// Each move is made by the holder of the slot at that moment:
//
//   - (a) Alloc, TryAlloc, AllocRef: pop, or popSampled for a slot set
//     aside for sampling (stateSampled), on the P whose cache owns the
//     slot's word, pinned; liveCentral, on the caller's goroutine, for a
//     slot taken from the central free set while the caches are drained.
//   - (b) Free, FreeRef: claim, Free's fast path, on the P that owns the
//     word, pinned, for a stateLive slot of its current or previous word;
//     free, the general path, on the caller's goroutine, for the rest.
//   - (c) free, when the slot's Ref generations are spent (nextGen): the
//     slot is never reused.
//   - (d) free, when the pool has a reset function (WithReset), while the
//     reset runs; (e) once it returned or panicked (freeResetFailed).
//   - (f) takeScopeSlots: a scope takes a batch of slots, on the scope's
//     goroutine, under Pool.mu.
//   - (g) giveBackLocked, under Pool.mu: the slots a scope holds and has
//     not handed out, given back by its Release, by reclaimScopesLocked
//     (a drain) or by abandon (once the scope is collected).
//   - (h) Release with a reset function: resetScoped, on the scope's
//     goroutine, while the reset runs; (i) once it returned or panicked.
//   - (j) AllocIn hands the slot out and Release zeroes it: the byte is
//     not written.
//
// A free slot may be in the central free set, in a per-P cache or in an
// inbox: the state does not say which (see word).
//
// Debug builds differ: they take a scope's slots one at a time through
// (a), then mark them stateScoped, and give them back by marking them
// stateLive and going through (b); their Free marks a slot stateFree
// before it runs a reset function, so they never use stateResetting. A
// second state per slot guards them (slotDebug.state, debug_on.go): a slot
// in their quarantine is stateFree here, and one whose guard page cannot
// be made accessible again goes from there to stateRetired (retireLocked,
// under Pool.mu).
const (
	stateFree      uint8 = iota // in a free set: central, a per-P cache's, or an inbox; or in a debug build's quarantine
	stateLive                   // handed out by Alloc, TryAlloc or AllocRef
	stateScoped                 // handed out by AllocIn, or held by a scope; freed by Scope.Release
	stateRetired                // its Ref generation is spent; never reused
	stateSampled                // live, like stateLive, and its allocation stack was recorded (WithSampling)
	stateResetting              // being freed (by Free, or by its scope's Release): the pool's reset function runs on it (WithReset)
)

// isLive reports whether a slot in state st is an object that Free takes.
func isLive(st uint8) bool { return st == stateLive || st == stateSampled }

// A slab is one slab: a contiguous array of slots and the bookkeeping of which
// are assigned.
type slab[T any] struct {
	// mem holds the slots. It is ordinary Go memory, so the GC scans the
	// pointer fields of T; freed slots are zeroed with typed stores.
	mem []T
	// words holds a record per run of 64 slots (one allocBits word): the
	// run's owner and its inbox, see word; states holds the runs' slot
	// states, a cache line each.
	words  []word
	states []wordState
	// gens holds the Ref generation of each slot; nil until the first
	// AllocRef or RefOf from this slab. The generation of a live slot is the
	// one its Ref carries; Free increments it, so every earlier Ref is
	// stale. Atomic, because a stale Ref may be checked while the slot is
	// freed and reused elsewhere.
	gens atomic.Pointer[[]atomic.Uint32]
	// bytes is the length of mem in bytes.
	bytes uintptr
	// pos is the slab's index in Pool.slabs.
	pos int
	// meta is the slab's entry in the process-wide address map.
	meta slabmap.Slab
	// dbg holds debug builds' per-slot records; empty in default builds.
	dbg slabDebug

	// The fields below are guarded by Pool.mu.

	// allocBits has 1 for each slot that is not in the central free set:
	// live, scoped or retired, held free by a per-P cache or a scope, in
	// an inbox, or in the debug quarantine. The central free set is its
	// complement, and only words owned by the central free set
	// (word.owner == ownerCentral) have clear bits.
	allocBits *bitset.BitSet
	// nalloc is the number of 1 bits in allocBits; nalloc == len(mem) means
	// the slab is full and is not on Pool.partial.
	nalloc int
	// freeindex: every slot below it is assigned. Slots are handed out from
	// the lowest free index so that the live set stays dense.
	freeindex uint
	// partialIdx is the slab's index in Pool.partial, or -1.
	partialIdx int
	// idleGCs counts the successive GCs that found the slab empty.
	idleGCs int
}

func (s *slab[T]) base() uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(s.mem))) }

// validMask returns the bits of word w that are slots of s: all 64, except
// in a last word that the slab's end cuts short.
func (s *slab[T]) validMask(w int) uint64 { return validMask(uint32(min(64, len(s.mem)-w*64))) }

// validMask returns the mask of the first n of a word's slots.
func validMask(n uint32) uint64 {
	if n >= 64 {
		return ^uint64(0)
	}
	return 1<<n - 1
}

// A word is the bookkeeping of a run of 64 adjacent slots of a slab (the
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
	// mem is the address of slot base, slab the *slab[T] that holds the
	// run, base the index of the run's first slot in it and nslots its
	// number of slots. Set when the slab is made.
	mem    unsafe.Pointer
	slab   unsafe.Pointer
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

// Values of word.owner other than a P's. The owner of a word changes so:
//
//	                   (a)
//	+--------------+ ---------> +-------------+
//	| ownerCentral |            | ownerMoving |
//	|              | <--------- |             |
//	+--------------+    (b)     +-------------+
//	       ^                           |
//	       |                           | (c)
//	       |           (d)             v
//	       +--------------------- +----------+
//	                              | P id + 1 |
//	                              +----------+
//
// The moves, each made by the word's owner or under Pool.mu:
//
//   - (a) takeCacheWordLocked: allocSlow takes the word, with its free
//     slots, for its P's cache, under Pool.mu.
//   - (b) returnCacheWord: the caches were drained before the taker could
//     install the word; the owner changes first, then the slots go back
//     under Pool.mu.
//   - (c) install: the same goroutine, pinned again, makes the word its
//     P's current word, on whichever P it runs now.
//   - (d) disown: a cache that owns as many words as it may gives one back
//     (evict), pinned, its free slots into the word's inbox and the word
//     onto Pool.inboxes; or drainLocked: a drain gives back every word of
//     every cache, under drainMu and Pool.mu, once no goroutine is in a
//     cache operation.
//
// Who writes what of a word, by its owner:
//
//   - The word's bits in the slab's allocBits: while the central free set
//     owns the word, holders of Pool.mu (a clear bit is a slot of the
//     central free set: takeLocked, takeWordLocked and scopes' batches set
//     bits, returnWordLocked clears them). A word that is moving or that a
//     cache owns has every slot's bit set, and nothing writes them.
//   - word.free: the P that owns the word, while it is not the cache's
//     current word, whose free slots the cache keeps in pcache.free and
//     pcache.sampled; 0 otherwise.
//   - word.inbox: whoever gives back a slot of the word but its owner ORs
//     the slot's bit into it (a Free on another P or while the caches are
//     drained; a scope or a debug build's quarantine, under Pool.mu; a
//     cache giving the word back, in disown). Only the owner takes the
//     inbox, with Swap: a holder of Pool.mu for ownerCentral
//     (collectInboxesLocked, takeCacheWordLocked), the installer for
//     ownerMoving, the owning P for its own words.
//   - word.next and word.queued: a Free that makes the inbox of a central
//     word non-empty, or disown, pushes the word onto Pool.inboxes;
//     collectInboxesLocked takes the list whole, under Pool.mu.
//   - word.state: the holder of each slot (see stateFree), whatever the
//     word's owner.
const (
	ownerCentral = 0
	// ownerMoving marks a word on its way from the central set to a P's
	// cache: taken under Pool.mu, installed once the taker is pinned again.
	ownerMoving = ^uint32(0)
)

// slotRef names one slot. Per-P caches and scopes hold slotRefs; the pointer
// to the slab keeps a slab with cached slots reachable, as it must.
type slotRef[T any] struct {
	s *slab[T]
	i uint32
}

func (r slotRef[T]) ptr() *T {
	if debugMode {
		// A debug build's slab on guard pages has a slot every stride
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

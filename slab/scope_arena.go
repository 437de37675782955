package slab

import (
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
)

// Values of any type in a scope: NewIn's objects, slices, strings. A scope
// allocates them from chunks of typed memory, one run of chunks per element
// type (an arena), by bumping an offset: the backing array of a slice of T
// is a run of elements of a chunk of T, a string's bytes a run of a chunk
// of bytes. Chunks are ordinary Go memory made as arrays of their element
// type, so they may hold pointers; in default builds, values of every type
// without pointers share one arena of bytes, aligned, so that a scope that
// allocates a little of many such types takes one chunk, not one each.
// Values of types with pointers share chunks too in default builds when
// their types have one shape for the garbage collector (the same size and
// the same words holding pointers): every pointer type, say, or every
// string. Release zeroes what was allocated, keeps a chunk holding about as
// much as this use of the scope needed and gives the rest to a cache of
// free chunks per type and size, which holds them as
// a sync.Pool does: a chunk that two garbage collections find unused there
// goes back to the heap. Debug and -asan builds share no chunks between
// types (see home), and put those of types without pointers on guard pages
// where they can (debug_arena.go, asan_on.go).
//
// The chunks, the element types and their caches are in scope_chunks.go;
// the calls that allocate in arenas (NewIn, MakeSliceIn...) in
// scope_alloc.go.

// An arena is a scope's state for one elemType: the chunks it holds.
type arena struct {
	et *elemType
	st *scopeState
	// cur is the chunk allocations come from, off the bytes used in it and
	// end its size; cur is chunks[n-1].
	cur      unsafe.Pointer
	off, end uintptr
	// chunks are the chunks held: chunks[:n] in use since the last
	// Release, the rest kept from before.
	chunks []arenaChunk
	n      int
	// used is the bytes handed out since the last Release.
	used uintptr
	// dbg records, in debug builds, each allocation since the last
	// Release (debug_arena.go); empty in default builds.
	//lint:ignore U1000 empty and unread in default builds
	dbg arenaDebug
}

type arenaChunk struct {
	p     unsafe.Pointer
	bytes uintptr
	used  uintptr // bytes handed out since the last Release
	class int     // chunkClasses for a chunk of its own
}

// arenaOf returns st's arena of et, making it on first use.
func (st *scopeState) arenaOf(et *elemType) *arena {
	i := et.idx.Load()
	if i == 0 {
		i = denseIndex(&elemIndexes, &et.idx, et)
	}
	if int(i) < len(st.arenas) {
		if a := st.arenas[i]; a != nil {
			return a
		}
	} else {
		arenas := make([]*arena, max(int(i)+1, 2*len(st.arenas), 8))
		copy(arenas, st.arenas)
		st.arenas = arenas
	}
	a := &arena{et: et, st: st}
	st.arenas[i] = a
	return a
}

// elemIndexes gives elemTypes their idx. elemTypes are never collected.
var elemIndexes denseIndexes

// allocValues returns zeroed memory for n values of et in st, which the
// caller has entered, or nil if st's limit refuses the memory it would
// take (see limitError).
func (st *scopeState) allocValues(et *elemType, n uintptr) unsafe.Pointer {
	a := st.arenaOf(et.home())
	p := a.alloc(n*et.size, et.align)
	if debugMode && p != nil {
		a.noteAlloc(p, n*et.size)
	}
	if asan.Enabled && p != nil {
		a.asanAlloc(p, n*et.size)
	}
	return p
}

// alloc returns n zeroed bytes aligned to align, or nil if the scope's
// limit refuses a chunk for them.
func (a *arena) alloc(n, align uintptr) unsafe.Pointer {
	if off := (a.off + align - 1) &^ (align - 1); off <= a.end && n <= a.end-off {
		a.off = off + n
		a.used += n
		return unsafe.Add(a.cur, off)
	}
	return a.allocSlow(n)
}

// allocSlow moves to the next chunk: a kept one, or one from the cache. A
// chunk's memory counts against the scope's limit when the scope moves
// into it.
func (a *arena) allocSlow(n uintptr) unsafe.Pointer {
	if a.n > 0 {
		a.chunks[a.n-1].used = a.off
	}
	// A kept chunk large enough is the next to use.
	for i := a.n; i < len(a.chunks); i++ {
		if a.chunks[i].bytes >= n {
			if !a.st.take(a.chunks[i].bytes) {
				return nil
			}
			a.chunks[a.n], a.chunks[i] = a.chunks[i], a.chunks[a.n]
			return a.use(n)
		}
	}
	c := classOf(n)
	if c < chunkClasses {
		e := uintptr(a.et.estimate.Load())
		switch {
		case a.n == 0:
			c = max(c, min(classOf(e), chunkClasses-1))
		case a.n == 1:
			c = max(c, min(classOf(e/4), chunkClasses-1))
		default:
			c = max(c, min(a.chunks[a.n-1].class+5, chunkClasses-1)) // 1.5×
		}
	}
	var ch arenaChunk
	if c < chunkClasses {
		ch = arenaChunk{bytes: classBytes(c) / a.et.size * a.et.size, class: c}
		if !a.st.take(ch.bytes) {
			return nil
		}
		ch.p = a.et.getChunk(c)
	} else {
		k := (n + a.et.size - 1) / a.et.size
		ch = arenaChunk{bytes: k * a.et.size, class: chunkClasses}
		if !a.st.take(ch.bytes) {
			return nil
		}
		ch.p = a.et.newChunk(k)
	}
	a.chunks = append(a.chunks, arenaChunk{})
	copy(a.chunks[a.n+1:], a.chunks[a.n:])
	a.chunks[a.n] = ch
	return a.use(n)
}

// use makes chunks[n] current and takes n bytes from it.
func (a *arena) use(n uintptr) unsafe.Pointer {
	ch := &a.chunks[a.n]
	a.n++
	a.cur, a.off, a.end = ch.p, n, ch.bytes
	a.used += n
	return ch.p
}

// release zeroes what the arena handed out since the last release, keeps
// one chunk for the next use (none in debug builds, whose chunks go through
// a quarantine, nor a guarded chunk under -asan, which goes through one
// too), and gives the others back to the type's cache. The chunk
// kept is the largest of those used that holds what a use takes lately
// and is no larger than the next use's first chunk would be (see
// allocSlow): otherwise the next use gets one chunk of the right size from
// the cache. Chunks of their
// own are dropped. It returns the bytes handed out.
func (a *arena) release() uintptr {
	used := a.used
	if len(a.chunks) == 0 {
		return used
	}
	if debugMode {
		a.releaseDebug() // poisons what was handed out, and quarantines the chunks
		return used
	}
	if a.n > 0 {
		a.chunks[a.n-1].used = a.off
	}
	keep := -1
	if used > 0 {
		a.et.observe(used)
		e := uintptr(a.et.estimate.Load())
		limit := min(classOf(e)+1, chunkClasses-1)
		for i, ch := range a.chunks[:a.n] {
			if ch.class < chunkClasses && ch.class <= limit && ch.bytes >= e && (keep < 0 || ch.bytes > a.chunks[keep].bytes) {
				keep = i
			}
		}
	}
	for i, ch := range a.chunks {
		if asan.Enabled && asanReleaseGuarded(a.et, ch) {
			if i == keep {
				keep = -1 // protected, it cannot serve the next use
			}
			continue // for reuse after a quarantine (asan_on.go)
		}
		if ch.used > 0 {
			a.et.clearChunk(ch.p, ch.used)
		}
		if asan.Enabled {
			asanRelease(&ch)
		}
		if i != keep && ch.class < chunkClasses {
			a.et.putChunk(ch.p, ch.class)
		}
	}
	if keep >= 0 {
		ch := a.chunks[keep]
		a.chunks[0] = arenaChunk{p: ch.p, bytes: ch.bytes, class: ch.class}
		clear(a.chunks[1:])
		a.chunks = a.chunks[:1]
	} else {
		clear(a.chunks)
		a.chunks = a.chunks[:0]
	}
	a.n, a.used = 0, 0
	a.cur, a.off, a.end = nil, 0, 0
	return used
}

package slab

import (
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/poison"
	"github.com/slabtrack/slabtrack/internal/race"
)

// Values of any type in a scope: NewIn's objects, slices, strings. A scope
// allocates them from chunks of typed memory, one run of chunks per element
// type (an arena), by bumping an offset: the backing array of a slice of T
// is a run of elements of a chunk of T, a string's bytes a run of a chunk
// of bytes. Chunks are ordinary Go memory made as arrays of their element
// type, so they may hold pointers; in release builds, values of every type
// without pointers share one arena of bytes, aligned, so that a scope that
// allocates a little of many such types takes one chunk, not one each.
// Values of types with pointers share chunks too in release builds when
// their types have one shape for the garbage collector (the same size and
// the same words holding pointers): every pointer type, say, or every
// string. Release zeroes what was allocated, keeps a chunk holding about as
// much as this use of the scope needed and gives the rest to a cache of
// free chunks per type and size, which holds them as
// a sync.Pool does: a chunk that two garbage collections find unused there
// goes back to the heap. Debug and -asan builds share no chunks between
// types (see home), and put those of types without pointers on guard pages
// where they can (debug_arena.go, asan_on.go).

// Chunk sizes: classes of 128 bytes to 64 KiB, eight to each doubling
// (128, 144, 160, 176, 192...), so that a chunk sized to what a scope needs
// wastes little of it, and a type a scope uses little of takes little. A
// scope's first chunk of a type holds the allocation and what a use of a
// scope took of that type lately (elemType.estimate); a use that takes
// more gets a second chunk of a quarter of that, and each next one half as
// large again as the one before, so a scope that runs out of chunk after
// chunk takes larger and larger ones. A run larger than the largest class
// gets a chunk of its own, which is dropped at Release.
const (
	chunkMinBytes = 128
	chunkClasses  = 73
	chunkMaxBytes = 64 << 10
)

// classBytes returns the size of chunks of class c.
func classBytes(c int) uintptr {
	return uintptr(chunkMinBytes) << (c / 8) * uintptr(8+c%8) / 8
}

// classOf returns the class of the smallest chunk of at least n bytes, or
// chunkClasses if n is larger than every class.
func classOf(n uintptr) int {
	for c := range chunkClasses {
		if classBytes(c) >= n {
			return c
		}
	}
	return chunkClasses
}

// An elemType describes a type whose values scopes allocate in chunks.
type elemType struct {
	typ   reflect.Type
	size  uintptr
	align uintptr
	ptrs  bool // the type holds pointers: chunks are cleared with typed clears
	// idx is the type's dense index in scopeState.arenas; 0 until a scope
	// first allocates it.
	idx atomic.Uint32
	// clearTyped clears n values at p with a typed clear; nil until a
	// generic caller supplies clearAs[T], until when clearChunk clears one
	// value at a time through reflect.
	clearTyped atomic.Pointer[func(p unsafe.Pointer, n int)]

	// cache holds free chunks by class, zeroed (an unsafe.Pointer each).
	cache [chunkClasses]sync.Pool
	// estimate is about the bytes that one use of a scope took of the
	// type lately: a moving average that Release updates, without a lock
	// (a lost update only delays it), so that a new scope's first chunk
	// holds what it will likely need.
	estimate atomic.Int64
	// shape is the elemType whose chunks hold values of this one in
	// release builds (see home): bytesType for a type without pointers,
	// the first type seen of the same shape for the garbage collector, or
	// the type itself.
	shape *elemType
}

// elemTypes maps the descriptor of T to the elemType of T; elemTypesByPtr
// maps the descriptor of *T to the same, for generic callers, which have
// that one at hand. Two tables: the descriptor of *T is also the
// descriptor of another type's T.
var elemTypes, elemTypesByPtr = newTypeTable(), newTypeTable()

// elemTypeFor returns the elemType of T.
func elemTypeFor[T any]() *elemType {
	if et := elemTypesByPtr.probe(typeWord[T]()); et != nil {
		return (*elemType)(et)
	}
	return elemTypeForSlow[T]()
}

func elemTypeForSlow[T any]() *elemType {
	if et := elemTypesByPtr.get(typeWord[T]()); et != nil {
		return (*elemType)(et)
	}
	et := elemTypeOf(reflect.TypeFor[T]())
	f := clearAs[T]
	et.clearTyped.Store(&f)
	elemTypesByPtr.getOrAdd(typeWord[T](), func() unsafe.Pointer { return unsafe.Pointer(et) })
	return et
}

// clearAs zeroes n values of T at p: a typed clear, whose write barriers
// the GC requires for pointer words.
func clearAs[T any](p unsafe.Pointer, n int) { clear(unsafe.Slice((*T)(p), n)) }

// elemTypeOf returns the elemType of t, making it on first use.
func elemTypeOf(t reflect.Type) *elemType {
	k := rtypeWord(t)
	if et := elemTypes.get(k); et != nil {
		return (*elemType)(et)
	}
	et := &elemType{typ: t, size: t.Size(), align: uintptr(t.Align()), ptrs: hasPointers(t)}
	et.shape = shapeOf(et) // before getOrAdd, which holds the table's lock: it may add bytes
	return (*elemType)(elemTypes.getOrAdd(k, func() unsafe.Pointer { return unsafe.Pointer(et) }))
}

// shapes maps a shape for the garbage collector (see shapeKey) to the
// first elemType seen of it.
var shapes struct {
	sync.Mutex
	m map[string]*elemType
}

// shapeOf returns the elemType whose chunks hold values of et in release
// builds.
func shapeOf(et *elemType) *elemType {
	if !et.ptrs {
		if et.typ == reflect.TypeFor[byte]() {
			return et
		}
		return elemTypeOf(reflect.TypeFor[byte]())
	}
	key, ok := shapeKey(et.typ)
	if !ok {
		return et
	}
	shapes.Lock()
	defer shapes.Unlock()
	if shapes.m == nil {
		shapes.m = make(map[string]*elemType)
	}
	if sh := shapes.m[key]; sh != nil {
		return sh
	}
	shapes.m[key] = et
	return et
}

// shapeKey describes what the garbage collector sees of values of t: their
// size and the offsets of the words that hold pointers. Two types of one
// key may share a chunk made as an array of either. Types with interface
// values, whose type words the collector reads as its own, or large
// arrays, report false.
func shapeKey(t reflect.Type) (string, bool) {
	var b []byte
	b = fmt.Appendf(b, "%d:", t.Size())
	ok := true
	var walk func(t reflect.Type, off uintptr)
	walk = func(t reflect.Type, off uintptr) {
		if !ok {
			return
		}
		switch t.Kind() {
		case reflect.Pointer, reflect.UnsafePointer, reflect.Map, reflect.Chan, reflect.Func,
			reflect.String, reflect.Slice:
			b = fmt.Appendf(b, "%d,", off)
		case reflect.Interface:
			ok = false
		case reflect.Array:
			if t.Len() > 16 && hasPointers(t.Elem()) {
				ok = false
				return
			}
			for i := range t.Len() {
				walk(t.Elem(), off+uintptr(i)*t.Elem().Size())
			}
		case reflect.Struct:
			for i := range t.NumField() {
				f := t.Field(i)
				walk(f.Type, off+f.Offset)
			}
		}
	}
	walk(t, 0)
	return string(b), ok
}

// bytesType is the elemType of bytes: strings' bytes, and in release
// builds the values of every type without pointers.
var bytesType = elemTypeFor[byte]()

// home returns the elemType whose arena holds values of et: in release
// builds, its shape's (see shapeOf). Debug and -asan builds give each type
// its own, whose reports name the type, and whose chunks, for a type
// without pointers, are guard slabs of the type's own (debug_arena.go,
// asan_on.go).
func (et *elemType) home() *elemType {
	if debugMode || asan.Enabled {
		return et
	}
	return et.shape
}

// hasPointers reports whether values of t hold pointers.
func hasPointers(t reflect.Type) bool { return !poison.PointerFree(t) }

// getChunk returns a zeroed chunk of class c, from the cache or new.
func (et *elemType) getChunk(c int) unsafe.Pointer {
	if p, _ := et.cache[c].Get().(unsafe.Pointer); p != nil {
		return p
	}
	return et.newChunk(classBytes(c) / et.size)
}

// newChunk makes a chunk of n values: an array of the type, so that the GC
// knows where its pointers are.
func (et *elemType) newChunk(n uintptr) unsafe.Pointer {
	if debugMode || asan.Enabled {
		if p := et.guardedChunk(n); p != nil {
			return p // on a guard slab: see debug_arena.go and asan_on.go
		}
	}
	p := reflect.MakeSlice(reflect.SliceOf(et.typ), int(n), int(n)).UnsafePointer()
	if asan.Enabled {
		et.asanNewChunk(p, n*et.size) // nothing in it is handed out yet
	}
	return p
}

// putChunk gives a zeroed chunk of class c to the cache.
func (et *elemType) putChunk(p unsafe.Pointer, c int) {
	et.cache[c].Put(p)
}

// observe folds the bytes that one use of a scope took of the type into
// its estimate.
func (et *elemType) observe(used uintptr) {
	e := et.estimate.Load()
	et.estimate.Store(e + (int64(used)-e)/8)
}

// clearChunk zeroes the first n bytes of the chunk at p with typed clears.
func (et *elemType) clearChunk(p unsafe.Pointer, n uintptr) {
	if race.Enabled {
		race.WriteRange(p, int(n)) // a later use races with the Release
	}
	if !et.ptrs {
		clear(unsafe.Slice((*byte)(p), n))
		return
	}
	if f := et.clearTyped.Load(); f != nil {
		(*f)(p, int(n/et.size))
		return
	}
	for off := uintptr(0); off < n; off += et.size {
		reflect.NewAt(et.typ, unsafe.Add(p, off)).Elem().SetZero()
	}
}

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
	// Release (debug_arena.go); empty in release builds.
	//lint:ignore U1000 empty and unread in release builds
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

// valuesIn returns zeroed memory for c values of et in s, for the call op.
func valuesIn(s *Scope, et *elemType, c int, op scopeOp) unsafe.Pointer {
	if c < 0 || uintptr(c) > maxAllocBytes/et.size {
		panic(fmt.Errorf("slab: %s of %s: capacity %d out of range", op, et.typ, c))
	}
	st := s.enter(op, "", "")
	p := st.allocValues(et, uintptr(c))
	var err error
	if p == nil {
		err = st.limitError(op, et.typ.String(), uintptr(c)*et.size)
	}
	s.exit(st)
	if err != nil {
		panic(err)
	}
	return p
}

// maxAllocBytes bounds one allocation in a scope, as the Go heap bounds
// one make.
const maxAllocBytes = 1 << 40

// NewIn returns a pointer to a new zeroed T owned by s: s.Release frees
// it, and it must not be used after. It is for values of any type, with no
// pool to declare: NewIn allocates from memory the scope holds for T, a
// few nanoseconds per call. The object is not a pool's: Pool.Free must not
// be called on it.
//
// NewIn panics with an error wrapping ErrNilScope if s is nil,
// ErrScopeLimit if s's ScopePool bounds its memory and s has taken that
// much, ErrReleased if s was taken back by its ScopePool, and ErrScopeBusy if
// another goroutine is using s.
func NewIn[T any](s *Scope) *T {
	var t T
	if unsafe.Sizeof(t) == 0 {
		s.check(opNewIn)
		return new(T)
	}
	return (*T)(valuesIn(s, elemTypeFor[T](), 1, opNewIn))
}

// MakeSliceIn returns a slice of T of length n and capacity c whose backing
// array s owns: s.Release frees it, and it must not be used after. Like
// make([]T, n, c), it panics if n < 0 or n > c; it panics as NewIn does. A
// capacity of 0 takes no memory and gives an empty slice, not nil:
// encoding/json writes it as [], not null.
func MakeSliceIn[T any](s *Scope, n, c int) []T {
	if n < 0 || n > c {
		panic(fmt.Errorf("slab: MakeSliceIn: length %d out of range [0, capacity %d]", n, c))
	}
	var t T
	if c == 0 || unsafe.Sizeof(t) == 0 {
		s.check(opMakeSliceIn)
		return make([]T, n, c)
	}
	return unsafe.Slice((*T)(valuesIn(s, elemTypeFor[T](), c, opMakeSliceIn)), c)[:n]
}

// AppendIn appends elems to dst, as append does, and returns the result. If
// dst has no room, the new backing array is in s (s.Release frees it), at
// least twice as large as dst's, and, as with append, does not share memory
// with dst. dst may be nil or any slice, in s or not.
//
// AppendIn panics as NewIn does, also when dst has room.
func AppendIn[T any](s *Scope, dst []T, elems ...T) []T {
	n := len(dst) + len(elems)
	var t T
	if n <= cap(dst) || unsafe.Sizeof(t) == 0 {
		s.check(opAppendIn)
		return append(dst, elems...)
	}
	c := max(2*cap(dst), n, appendMinCap(unsafe.Sizeof(t)))
	out := unsafe.Slice((*T)(valuesIn(s, elemTypeFor[T](), c, opAppendIn)), c)[:len(dst)]
	copy(out, dst)
	return append(out, elems...)
}

// appendMinCap is the capacity AppendIn gives a nil or empty slice: 8
// values, or fewer of a type larger than 128 bytes.
func appendMinCap(size uintptr) int { return int(max(1, min(8, 1024/size))) }

// StringIn returns a string holding the bytes of b whose memory s owns:
// s.Release frees it, and it must not be used after. An empty b takes no
// memory. To build a string in the scope without a copy on the heap first,
// append to a slice from MakeSliceIn or AppendIn and convert it with
// unsafe.String, or use a strings.Builder-like AppendIn loop.
//
// StringIn panics as NewIn does.
func StringIn[B ~string | ~[]byte](s *Scope, b B) string {
	if len(b) == 0 {
		s.check(opStringIn)
		return ""
	}
	p := valuesIn(s, bytesType, len(b), opStringIn)
	copy(unsafe.Slice((*byte)(p), len(b)), b)
	return unsafe.String((*byte)(p), len(b))
}

package slab

import (
	"fmt"
	"math/bits"
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/race"
)

// Slices, strings and values of any type in a scope. A scope allocates
// them from chunks of typed memory, one run of chunks per element type (an
// arena), by bumping an offset: the backing array of a slice of T is a run
// of elements of a chunk of T, a string's bytes a run of a chunk of bytes.
// Chunks are ordinary Go memory made as arrays of their element type, so
// they may hold pointers. Release zeroes what was allocated, keeps chunks
// holding about as much as this use of the scope needed (up to
// ScopeKeepBytes per type) and gives the rest to a cache of free chunks per
// type that all scopes share; a chunk that stays in the cache through two
// garbage collections is dropped for the GC to collect.

// Chunk sizes: classes of 1 KiB to 64 KiB, doubling. A scope's first chunk
// of a type is of the smallest class that holds the allocation, and each
// next one at least twice as large as the one before, so a scope that
// allocates little takes little. A run larger than the largest class gets a
// chunk of its own, which is dropped at Release.
const (
	chunkMinShift = 10
	chunkClasses  = 7
	chunkMaxBytes = 1 << (chunkMinShift + chunkClasses - 1)
)

// An elemType describes a type whose values scopes allocate in chunks.
type elemType struct {
	typ  reflect.Type
	size uintptr
	ptrs bool // the type holds pointers: chunks are cleared with typed clears
	// idx is the type's dense index in scopeState.arenas; 0 until a scope
	// first allocates it.
	idx atomic.Uint32
	// clearTyped clears n values at p with a typed clear; nil until a
	// generic caller supplies clearAs[T], until when clearChunk clears one
	// value at a time through reflect.
	clearTyped atomic.Pointer[func(p unsafe.Pointer, n int)]

	mu sync.Mutex
	// free holds free chunks by class, zeroed; old holds those that were
	// free at the last GC and are dropped at the next one unless reused.
	free, old [chunkClasses][]unsafe.Pointer
}

// elemTypes maps the descriptor of T to the elemType of T; elemTypesByPtr
// maps the descriptor of *T to the same, for generic callers, which have
// that one at hand. Two tables: the descriptor of *T is also the
// descriptor of another type's T.
var elemTypes, elemTypesByPtr = newTypeTable(), newTypeTable()

// allElemTypes lists every elemType, for the collection of idle chunks.
var allElemTypes struct {
	sync.Mutex
	list []*elemType
}

// elemTypeFor returns the elemType of T.
func elemTypeFor[T any]() *elemType {
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
	return (*elemType)(elemTypes.getOrAdd(k, func() unsafe.Pointer {
		et := &elemType{typ: t, size: t.Size(), ptrs: hasPointers(t)}
		allElemTypes.Lock()
		allElemTypes.list = append(allElemTypes.list, et)
		first := len(allElemTypes.list) == 1
		allElemTypes.Unlock()
		if first {
			onEveryGC(trimChunks)
		}
		return unsafe.Pointer(et)
	}))
}

// hasPointers reports whether values of t hold pointers.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.UnsafePointer, reflect.Map, reflect.Chan, reflect.Func,
		reflect.String, reflect.Slice, reflect.Interface:
		return true
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// classOf returns the class of the smallest chunk of at least n bytes, or
// chunkClasses if n is larger than every class.
func classOf(n uintptr) int {
	if n <= 1<<chunkMinShift {
		return 0
	}
	return min(bits.Len64(uint64(n-1))-chunkMinShift, chunkClasses)
}

func classBytes(c int) uintptr { return 1 << (chunkMinShift + c) }

// getChunk returns a zeroed chunk of class c, from the cache or new.
func (et *elemType) getChunk(c int) unsafe.Pointer {
	et.mu.Lock()
	var p unsafe.Pointer
	if n := len(et.free[c]); n > 0 {
		p, et.free[c][n-1] = et.free[c][n-1], nil
		et.free[c] = et.free[c][:n-1]
	} else if n := len(et.old[c]); n > 0 {
		p, et.old[c][n-1] = et.old[c][n-1], nil
		et.old[c] = et.old[c][:n-1]
	}
	et.mu.Unlock()
	if p != nil {
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
	et.mu.Lock()
	et.free[c] = append(et.free[c], p)
	et.mu.Unlock()
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

// trimChunks runs after each GC: chunks free since the GC before are
// dropped, and the free ones become old.
func trimChunks() {
	allElemTypes.Lock()
	list := allElemTypes.list
	allElemTypes.Unlock()
	for _, et := range list {
		et.mu.Lock()
		for c := range et.free {
			clear(et.old[c])
			et.old[c], et.free[c] = et.free[c], et.old[c][:0]
		}
		et.mu.Unlock()
	}
}

// An arena is a scope's state for one elemType: the chunks it holds.
type arena struct {
	et *elemType
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
	a := &arena{et: et}
	st.arenas[i] = a
	return a
}

// elemIndexes gives elemTypes their idx. elemTypes are never collected.
var elemIndexes denseIndexes

// alloc returns n zeroed bytes, a whole number of values, aligned for the
// type.
func (a *arena) alloc(n uintptr) unsafe.Pointer {
	if n <= a.end-a.off {
		p := unsafe.Add(a.cur, a.off)
		a.off += n
		a.used += n
		return p
	}
	return a.allocSlow(n)
}

// allocSlow moves to the next chunk: a kept one, or one from the cache.
func (a *arena) allocSlow(n uintptr) unsafe.Pointer {
	if a.n > 0 {
		a.chunks[a.n-1].used = a.off
	}
	// A kept chunk large enough is the next to use.
	for i := a.n; i < len(a.chunks); i++ {
		if a.chunks[i].bytes >= n {
			a.chunks[a.n], a.chunks[i] = a.chunks[i], a.chunks[a.n]
			return a.use(n)
		}
	}
	c := classOf(n)
	if a.n > 0 && c < chunkClasses {
		// Each chunk at least twice as large as the one before.
		c = max(c, min(a.chunks[a.n-1].class+1, chunkClasses-1))
	}
	var ch arenaChunk
	if c < chunkClasses {
		ch = arenaChunk{p: a.et.getChunk(c), bytes: classBytes(c) / a.et.size * a.et.size, class: c}
	} else {
		k := (n + a.et.size - 1) / a.et.size
		ch = arenaChunk{p: a.et.newChunk(k), bytes: k * a.et.size, class: chunkClasses}
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
// chunks holding about as many bytes (up to ScopeKeepBytes; none in debug
// builds, whose chunks go through a quarantine), and gives the others back
// to the type's cache. Chunks of their own are dropped.
func (a *arena) release() {
	if len(a.chunks) == 0 {
		return
	}
	if debugMode {
		a.releaseDebug() // poisons what was handed out, and quarantines the chunks
		return
	}
	if a.n > 0 {
		a.chunks[a.n-1].used = a.off
	}
	keep := min(a.used, ScopeKeepBytes)
	if debugMode {
		keep = 0
	}
	kept, k := uintptr(0), 0
	for _, ch := range a.chunks {
		if asan.Enabled && asanReleaseGuarded(a.et, ch) {
			continue // protected, for reuse after a quarantine (asan_on.go)
		}
		if ch.used > 0 {
			a.et.clearChunk(ch.p, ch.used)
		}
		if asan.Enabled {
			asanRelease(&ch)
		}
		switch {
		case ch.class == chunkClasses:
			// A chunk of its own: the GC takes it.
		case kept < keep:
			kept += ch.bytes
			a.chunks[k] = arenaChunk{p: ch.p, bytes: ch.bytes, class: ch.class}
			k++
		default:
			a.et.putChunk(ch.p, ch.class)
		}
	}
	clear(a.chunks[k:])
	a.chunks = a.chunks[:k]
	a.n, a.used = 0, 0
	a.cur, a.off, a.end = nil, 0, 0
}

// sliceIn returns a zeroed backing array of c values of T in s.
func sliceIn[T any](s *Scope, c int, op *string) unsafe.Pointer {
	var t T
	size := unsafe.Sizeof(t)
	if c < 0 || uintptr(c) > maxAllocBytes/max(size, 1) {
		panic(fmt.Errorf("slab: %s: capacity %d out of range", *op, c))
	}
	st := s.lease(*op, "", "")
	if debugMode {
		defer st.exit(st.enter(op))
	}
	a := st.arenaOf(elemTypeFor[T]())
	p := a.alloc(uintptr(c) * size)
	if debugMode {
		a.noteAlloc(p, uintptr(c)*size)
	}
	if asan.Enabled {
		a.asanAlloc(p, uintptr(c)*size)
	}
	return p
}

// maxAllocBytes bounds one allocation in a scope, as the Go heap bounds
// one make.
const maxAllocBytes = 1 << 40

// MakeSliceIn returns a slice of T of length n and capacity c whose backing
// array s owns: s.Release frees it, and it must not be used after. Like
// make([]T, n, c), it panics if n < 0 or n > c; it panics with an error
// wrapping ErrNilScope or ErrReleased, as AllocIn does. A capacity of 0 takes no memory.
func MakeSliceIn[T any](s *Scope, n, c int) []T {
	if n < 0 || n > c {
		panic(fmt.Errorf("slab: MakeSliceIn: length %d out of range [0, capacity %d]", n, c))
	}
	var t T
	if c == 0 || unsafe.Sizeof(t) == 0 {
		s.lease("MakeSliceIn", "", "")
		return make([]T, n, c)
	}
	return unsafe.Slice((*T)(sliceIn[T](s, c, &opMakeSliceIn)), c)[:n]
}

// AppendIn appends elems to dst, as append does, and returns the result. If
// dst has no room, the new backing array is in s (s.Release frees it), at
// least twice as large as dst's, and, as with append, does not share memory
// with dst. dst may be nil or any slice, in s or not.
//
// AppendIn panics with an error wrapping ErrNilScope or ErrReleased, as AllocIn does.
func AppendIn[T any](s *Scope, dst []T, elems ...T) []T {
	n := len(dst) + len(elems)
	var t T
	if n <= cap(dst) || unsafe.Sizeof(t) == 0 {
		return append(dst, elems...)
	}
	c := max(2*cap(dst), n, appendMinCap(unsafe.Sizeof(t)))
	out := unsafe.Slice((*T)(sliceIn[T](s, c, &opAppendIn)), c)[:len(dst)]
	copy(out, dst)
	return append(out, elems...)
}

// appendMinCap is the capacity AppendIn gives a nil or empty slice: 8
// values, or fewer of a large type.
func appendMinCap(size uintptr) int { return int(max(1, min(8, (1<<chunkMinShift)/size))) }

// StringIn returns a string holding the bytes of b whose memory s owns:
// s.Release frees it, and it must not be used after. An empty b takes no
// memory.
//
// StringIn panics with an error wrapping ErrNilScope or ErrReleased, as AllocIn does.
func StringIn[B ~string | ~[]byte](s *Scope, b B) string {
	if len(b) == 0 {
		s.lease("StringIn", "", "")
		return ""
	}
	p := sliceIn[byte](s, len(b), &opStringIn)
	copy(unsafe.Slice((*byte)(p), len(b)), b)
	return unsafe.String((*byte)(p), len(b))
}

// NewValueIn returns a pointer to a new zero value of type t owned by s, as
// reflect.New(t) does on the heap: s.Release frees it. It is for code that
// knows its types only at run time, such as decoders (see package
// slab/slabjson); the value lives in the scope's memory for t, not in a
// Pool, so Pool.Free must not be called on it.
//
// NewValueIn panics with an error wrapping ErrNilScope or ErrReleased, as AllocIn does.
func NewValueIn(s *Scope, t reflect.Type) reflect.Value {
	if t.Size() == 0 {
		s.lease("NewValueIn", "", "")
		return reflect.New(t)
	}
	return reflect.NewAt(t, valuesIn(s, t, 1, &opNewValueIn))
}

// MakeSliceValueIn returns a new slice of type typ, of length n and
// capacity c, whose backing array s owns, as reflect.MakeSlice does on the
// heap.
//
// MakeSliceValueIn panics if typ is not a slice type or n < 0 or n > c,
// and with an error wrapping ErrNilScope or ErrReleased, as AllocIn does.
func MakeSliceValueIn(s *Scope, typ reflect.Type, n, c int) reflect.Value {
	if typ.Kind() != reflect.Slice {
		panic(fmt.Errorf("slab: MakeSliceValueIn of non-slice type %s", typ))
	}
	if n < 0 || n > c {
		panic(fmt.Errorf("slab: MakeSliceValueIn: length %d out of range [0, capacity %d]", n, c))
	}
	if c == 0 || typ.Elem().Size() == 0 {
		s.lease("MakeSliceValueIn", "", "")
		return reflect.MakeSlice(typ, n, c)
	}
	v := reflect.SliceAt(typ.Elem(), valuesIn(s, typ.Elem(), c, &opMakeSliceValueIn), c).Slice(0, n)
	if v.Type() != typ {
		v = v.Convert(typ)
	}
	return v
}

// valuesIn returns zeroed memory for c values of type t in s.
func valuesIn(s *Scope, t reflect.Type, c int, op *string) unsafe.Pointer {
	if c < 0 || uintptr(c) > maxAllocBytes/t.Size() {
		panic(fmt.Errorf("slab: %s: capacity %d out of range", *op, c))
	}
	st := s.lease(*op, "", "")
	if debugMode {
		defer st.exit(st.enter(op))
	}
	a := st.arenaOf(elemTypeOf(t))
	p := a.alloc(uintptr(c) * t.Size())
	if debugMode {
		a.noteAlloc(p, uintptr(c)*t.Size())
	}
	if asan.Enabled {
		a.asanAlloc(p, uintptr(c)*t.Size())
	}
	return p
}

// GrowSliceValueIn gives the slice v (an addressable reflect.Value of kind
// Slice) room for n more elements, as slices.Grow does, with the new
// backing array in s: at least twice the old capacity, v's elements copied
// into it, and v set to it in place, with its length unchanged. It makes no
// heap allocation, so decoders can grow the slices they fill (see package
// slab/slabjson).
//
// Unlike slices.Grow, the grown slice may keep v's backing array when that
// array is the last memory s handed out for its element type and the
// memory after it is free: it is then extended, not copied. Other slices of
// the old array keep their length and capacity, and see writes to their
// elements. Use it for a slice that one goroutine builds, as a decoder
// does; use AppendIn where append's sharing rules matter.
//
// GrowSliceValueIn panics if v is not an addressable slice or n < 0, and
// with an error wrapping ErrNilScope or ErrReleased, as AllocIn does.
func GrowSliceValueIn(s *Scope, v reflect.Value, n int) {
	if v.Kind() != reflect.Slice || !v.CanSet() {
		panic(fmt.Errorf("slab: GrowSliceValueIn of a %s that is not an addressable slice", v.Type()))
	}
	if n < 0 {
		panic(fmt.Errorf("slab: GrowSliceValueIn by %d elements", n))
	}
	l, c := v.Len(), v.Cap()
	if c-l >= n {
		return
	}
	et := v.Type().Elem()
	size := et.Size()
	hdr := (*sliceHeader)(v.Addr().UnsafePointer())
	if size == 0 {
		hdr.cap = l + n
		return
	}
	st := s.lease("GrowSliceValueIn", "", "")
	if debugMode {
		defer st.exit(st.enter(&opGrowSliceValueIn))
	}
	a := st.arenaOf(elemTypeOf(et))
	newCap := max(2*c, l+n, appendMinCap(size))
	if uintptr(newCap) > maxAllocBytes/size {
		panic(fmt.Errorf("slab: GrowSliceValueIn: capacity %d out of range", newCap))
	}
	// The last allocation of the arena grows in place if its chunk has
	// room.
	if c > 0 && unsafe.Add(hdr.data, uintptr(c)*size) == unsafe.Add(a.cur, a.off) && a.off > 0 {
		if grow := uintptr(newCap-c) * size; grow <= a.end-a.off {
			a.off += grow
			a.used += grow
			hdr.cap = newCap
			if debugMode {
				a.noteGrow(hdr.data, uintptr(newCap)*size)
			}
			if asan.Enabled {
				asanGrow(hdr.data, uintptr(newCap)*size)
			}
			return
		}
	}
	p := a.alloc(uintptr(newCap) * size)
	if debugMode {
		a.noteAlloc(p, uintptr(newCap)*size)
	}
	if asan.Enabled {
		a.asanAlloc(p, uintptr(newCap)*size)
	}
	if l > 0 {
		// A typed copy, element by element: the elements may hold
		// pointers, which must be written with write barriers.
		for i := range l {
			off := uintptr(i) * size
			reflect.NewAt(et, unsafe.Add(p, off)).Elem().Set(reflect.NewAt(et, unsafe.Add(hdr.data, off)).Elem())
		}
	}
	// The data word is a pointer: set it with a typed store.
	*(*unsafe.Pointer)(unsafe.Pointer(&hdr.data)) = p
	hdr.cap = newCap
}

// sliceHeader is the layout of a slice value.
type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

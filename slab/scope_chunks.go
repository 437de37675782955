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

// The chunks of typed memory that a scope's arenas (scope_arena.go) take:
// their size classes, the description of each element type (elemType),
// which types share chunks, and each type's cache of free chunks.

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
	// default builds (see home): bytesType for a type without pointers,
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

// shapeOf returns the elemType whose chunks hold values of et in default
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

// bytesType is the elemType of bytes: strings' bytes, and in default
// builds the values of every type without pointers.
var bytesType = elemTypeFor[byte]()

// home returns the elemType whose arena holds values of et: in default
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

package slab

import (
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Process-wide tables keyed by type: the pool of each type that NewIn
// allocates from, and the description of each type whose values scopes
// allocate in chunks (elemType). Lookups take no lock: they read an
// open-addressed table that inserts replace whole.

// typeTable maps type descriptors to values.
type typeTable struct {
	mu  sync.Mutex // serialises inserts
	tab atomic.Pointer[typeEntries]
}

type typeEntries struct {
	mask uintptr
	n    int // entries in use
	keys []unsafe.Pointer
	vals []unsafe.Pointer
}

// hashType spreads the addresses of type descriptors, which are aligned.
func hashType(k unsafe.Pointer) uintptr {
	h := uintptr(k) >> 4
	return h ^ h>>7 ^ h>>13
}

// get returns the value of k, or nil.
func (t *typeTable) get(k unsafe.Pointer) unsafe.Pointer {
	e := t.tab.Load()
	if e == nil {
		return nil
	}
	for i := hashType(k) & e.mask; ; i = (i + 1) & e.mask {
		switch e.keys[i] {
		case k:
			return e.vals[i]
		case nil:
			return nil
		}
	}
}

// getOrAdd returns the value of k, calling mk and storing its result if
// k has none.
func (t *typeTable) getOrAdd(k unsafe.Pointer, mk func() unsafe.Pointer) unsafe.Pointer {
	t.mu.Lock()
	defer t.mu.Unlock()
	if v := t.get(k); v != nil {
		return v
	}
	v := mk()
	t.put(k, v)
	return v
}

// put adds k with value v; t.mu is held and k is absent.
func (t *typeTable) put(k, v unsafe.Pointer) {
	old := t.tab.Load()
	n := 0
	if old != nil {
		n = old.n
	}
	size := 16
	for size < 2*(n+1) {
		size *= 2
	}
	e := &typeEntries{mask: uintptr(size - 1), keys: make([]unsafe.Pointer, size), vals: make([]unsafe.Pointer, size)}
	add := func(k, v unsafe.Pointer) {
		i := hashType(k) & e.mask
		for e.keys[i] != nil {
			i = (i + 1) & e.mask
		}
		e.keys[i], e.vals[i] = k, v
		e.n++
	}
	if old != nil {
		for i, k := range old.keys {
			if k != nil {
				add(k, old.vals[i])
			}
		}
	}
	add(k, v)
	t.tab.Store(e)
}

// typeWord returns the address of the type descriptor of *T: a constant of
// each instantiation, read without a call.
func typeWord[T any]() unsafe.Pointer {
	var x any = (*T)(nil)
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&x))[0]
}

// rtypeWord returns the address of t's type descriptor.
func rtypeWord(t reflect.Type) unsafe.Pointer {
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1]
}

// typePools holds the pool of each type that NewIn allocates from, keyed
// by the descriptor of *T.
var typePools typeTable

// NewIn returns a pointer to a zeroed T owned by s, from the process-wide
// pool of T (see PoolOf), which it makes on first use. It costs an AllocIn
// and a lookup of the pool, a few nanoseconds; a program that allocates
// one type very often may call AllocIn on a pool of its own instead.
//
// NewIn panics as AllocIn does.
func NewIn[T any](s *Scope) *T { return PoolOf[T]().AllocIn(s) }

// PoolOf returns the process-wide pool of T that NewIn allocates from, made
// on first use with the default options, named after T. Use it for its
// Stats; a pool that needs a bound or a name of its own is made with New
// and allocated from with AllocIn.
//
// PoolOf panics as New does for a zero-size T.
func PoolOf[T any]() *Pool[T] {
	if p := typePools.get(typeWord[T]()); p != nil {
		return (*Pool[T])(p)
	}
	return (*Pool[T])(typePools.getOrAdd(typeWord[T](), func() unsafe.Pointer {
		return unsafe.Pointer(New[T]())
	}))
}

package slab

import (
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Process-wide tables keyed by type: the description of each type whose
// values scopes allocate in chunks (elemType). Lookups take no lock: they
// read an open-addressed table that inserts replace whole.

// typeTable maps type descriptors to values. Make one with newTypeTable.
type typeTable struct {
	mu  sync.Mutex     // serialises inserts
	tab unsafe.Pointer // *typeEntries, read with atomic.LoadPointer
}

// typeEntries is one version of a typeTable: open addressing with linear
// probing, 2^(64-shift) slots, at most a quarter of them used so that
// most keys sit in the slot they probe first.
type typeEntries struct {
	shift uint
	n     int // entries in use
	ents  []typeEntry
}

type typeEntry struct{ k, v unsafe.Pointer }

// newTypeTable returns an empty table: one free slot, which every key
// probes first (a shift of 64 yields 0).
func newTypeTable() *typeTable {
	t := new(typeTable)
	t.tab = unsafe.Pointer(&typeEntries{shift: 64, ents: make([]typeEntry, 1)})
	return t
}

// slot returns the first slot to probe for k: Fibonacci hashing of the
// descriptor's address, whose low bits are all alike.
func (e *typeEntries) slot(k unsafe.Pointer) uintptr {
	return uintptr(uint64(uintptr(k)) * 0x9E3779B97F4A7C15 >> e.shift)
}

// probe returns the value of k if k is in the slot it probes first, which
// it usually is, or nil. It is small enough to inline into NewIn; get does
// the whole search.
func (t *typeTable) probe(k unsafe.Pointer) unsafe.Pointer {
	e := (*typeEntries)(atomic.LoadPointer(&t.tab))
	if ent := e.at(e.slot(k)); ent.k == k {
		return ent.v
	}
	return nil
}

// get returns the value of k, or nil.
func (t *typeTable) get(k unsafe.Pointer) unsafe.Pointer {
	if v := t.probe(k); v != nil {
		return v
	}
	return t.getSlow(k)
}

// at returns slot i, which must be in range.
func (e *typeEntries) at(i uintptr) *typeEntry {
	return (*typeEntry)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(e.ents)), i*unsafe.Sizeof(typeEntry{})))
}

// getSlow is get past the first probe.
func (t *typeTable) getSlow(k unsafe.Pointer) unsafe.Pointer {
	e := (*typeEntries)(atomic.LoadPointer(&t.tab))
	mask := uintptr(len(e.ents) - 1)
	for i := e.slot(k); ; i = (i + 1) & mask {
		ent := e.at(i)
		if ent.k == k {
			return ent.v
		}
		if ent.k == nil {
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
	old := (*typeEntries)(atomic.LoadPointer(&t.tab))
	n := old.n
	bits := uint(4)
	for 1<<bits < 4*(n+1) {
		bits++
	}
	e := &typeEntries{shift: 64 - bits, ents: make([]typeEntry, 1<<bits)}
	add := func(k, v unsafe.Pointer) {
		i := e.slot(k)
		for e.ents[i].k != nil {
			i = (i + 1) & uintptr(len(e.ents)-1)
		}
		e.ents[i] = typeEntry{k, v}
		e.n++
	}
	for _, ent := range old.ents {
		if ent.k != nil {
			add(ent.k, ent.v)
		}
	}
	add(k, v)
	atomic.StorePointer(&t.tab, unsafe.Pointer(e))
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

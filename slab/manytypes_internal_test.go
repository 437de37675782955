package slab

import (
	"fmt"
	"reflect"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

// heapInUse returns the bytes of heap objects in use after two collections.
func heapInUse() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// One 16-byte value each of 2000 types, as NewIn of 2000 types makes: a
// type a scope uses little of takes little (a chunk of 128 bytes at first,
// or a share of one in default builds, where values of one shape share
// chunks), and what the scope takes goes back after Release and the
// collections that empty the cache of free chunks. (Each type had a pool of
// its own once: 125 MiB of slabs for this, and 651 MiB held after Release in
// debug builds.)
func TestNewInOfManyTypesTakesLittle(t *testing.T) {
	const types = 2000
	ets := make([]*elemType, types)
	for i := range ets {
		ptrs := i%2 == 0
		ft := reflect.TypeFor[[2]int64]()
		if ptrs {
			ft = reflect.TypeFor[[2]*int64]()
		}
		ets[i] = elemTypeOf(reflect.StructOf([]reflect.StructField{{Name: fmt.Sprintf("F%d", i), Type: ft}}))
	}
	var sp ScopePool
	before := heapInUse()
	s := sp.Get()
	for _, et := range ets {
		p := valuesIn(s, et, 1, opNewIn)
		*(*int64)(p) = 0 // the memory is there, and writable
	}
	held := heapInUse() - before
	sp.Put(s)
	runtime.KeepAlive(ets)
	after := heapInUse() - before

	// Default builds: 128 bytes a type at most, twice over. Debug and
	// -asan builds record each allocation, put the chunks of pointer-free
	// types on guard pages (their bookkeeping is on the heap), and keep, per
	// type, a quarantine of released chunks and the records of released
	// allocations for reports: up to 4 KiB a type held, 8 KiB after.
	heldLimit, afterLimit := int64(types*128*2), int64(64<<10)
	if debugBuild || asanBuild {
		heldLimit, afterLimit = types<<12, types<<13
	}
	t.Logf("%d types: %d KiB held by a scope with one value of each, %d KiB after Put and two collections", types, held>>10, after>>10)
	assert.Less(t, held, heldLimit, "a scope with one 16-byte value of each of %d types holds less than %d KiB", types, heldLimit>>10)
	assert.Less(t, after, afterLimit, "after Put and two collections, less than %d KiB is left", afterLimit>>10)
}

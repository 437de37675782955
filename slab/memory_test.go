//go:build !slabdebug

// Debug builds keep per-slot side tables (stacks, quarantine) by design, so
// the memory target is for default builds only.

package slab_test

import (
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
)

// memObjects is the live set of TestMemoryOverhead, and memTarget the most
// heap it may take: 1.05 × 64 MB for 10^6 objects of 64 bytes.
const (
	memObjects = 1_000_000
	memTarget  = 1.05 * memObjects * 64
)

// heapInUse returns the bytes of live heap objects once collections stop
// freeing anything: cleanups that run after one collection (those of
// unreachable pools) can make more memory unreachable for the next.
func heapInUse() uint64 {
	var ms runtime.MemStats
	last := uint64(0)
	for range 10 {
		runtime.GC()
		runtime.Gosched()
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc == last {
			break
		}
		last = ms.HeapAlloc
	}
	return ms.HeapAlloc
}

// TestMemoryOverhead checks that 10^6 live 64-byte objects allocated from a
// Pool take at most 1.05 × 64 MB of heap: the slabs, their state bytes and
// bitsets, the per-P caches and the address map together. It logs the
// figure beside that of new(T) for the same count; scripts/bench.sh copies
// the log line into BENCHMARKS.md.
func TestMemoryOverhead(t *testing.T) {
	skipAllocCountsUnderASan(t)
	t.Run("type=ptr64", memoryOverhead[ptr64])
	t.Run("type=flat64", memoryOverhead[flat])
}

func memoryOverhead[T any](t *testing.T) {
	// The slice that holds the objects belongs to the program, not to the
	// allocator: it is made before the first reading.
	ptrs := make([]*T, memObjects)
	require.Equal(t, uintptr(64), unsafe.Sizeof(*new(T)), "the objects are 64 bytes")

	before := heapInUse()
	p := slab.New[T]()
	for i := range ptrs {
		ptrs[i] = p.Alloc()
	}
	after := heapInUse()
	require.Equal(t, int64(memObjects), p.Stats().Live, "the pool counts every object live")
	slabBytes := int64(after) - int64(before)

	// The same objects from new(T), measured the same way.
	heap := make([]*T, memObjects)
	before = heapInUse()
	for i := range heap {
		heap[i] = new(T)
	}
	after = heapInUse()
	newBytes := int64(after) - int64(before)

	t.Logf("memory: test=%s objects=%d slab_bytes=%d slab_ratio=%.4f new_bytes=%d new_ratio=%.4f (ratios to 64 MB = objects × 64 B)",
		t.Name(), memObjects, slabBytes, float64(slabBytes)/(memObjects*64), newBytes, float64(newBytes)/(memObjects*64))
	assert.LessOrEqual(t, float64(slabBytes), float64(memTarget),
		"10^6 live 64-byte objects from a Pool take at most 1.05 × 64 MB of heap")
	assert.GreaterOrEqual(t, slabBytes, int64(memObjects*64),
		"the measurement sees at least the objects themselves")

	runtime.KeepAlive(heap)
	for _, x := range ptrs {
		p.Free(x)
	}
	p.Trim()
	assert.Zero(t, p.Stats().Slabs, "Trim hands every slab back once all objects are freed")
}

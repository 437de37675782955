package slab_test

import (
	"sync"
	"testing"

	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/slabtrack/slabtrack/slab"
)

// objBatch is the number of objects per op in BenchmarkScopeObject.
const objBatch = 256

// BenchmarkScopeObject allocates and frees objBatch workload.LineItems (128
// bytes, four pointers) per op, without background heap and with direct
// calls (no workload.Source in between): the cost per object of each
// strategy's own work, in ns/obj. It sets Pool.AllocIn beside slab.NewIn,
// which finds the type's process-wide pool, and beside Alloc and sync.Pool.
func BenchmarkScopeObject(b *testing.B) {
	var dst [objBatch]*workload.LineItem
	b.Run("scope", func(b *testing.B) {
		p, s := slab.New[workload.LineItem](), slab.NewScope()
		b.ReportAllocs()
		for b.Loop() {
			for i := range dst {
				dst[i] = p.AllocIn(s)
			}
			s.Release()
		}
		reportPerObject(b, objBatch)
	})
	b.Run("newin", func(b *testing.B) {
		s := slab.NewScope()
		b.ReportAllocs()
		for b.Loop() {
			for i := range dst {
				dst[i] = slab.NewIn[workload.LineItem](s)
			}
			s.Release()
		}
		reportPerObject(b, objBatch)
	})
	b.Run("pool", func(b *testing.B) {
		p := slab.New[workload.LineItem]()
		b.ReportAllocs()
		for b.Loop() {
			for i := range dst {
				dst[i] = p.Alloc()
			}
			for _, x := range dst {
				p.Free(x)
			}
		}
		reportPerObject(b, objBatch)
	})
	b.Run("syncpool", func(b *testing.B) {
		// Zeroed before Put, as workload.SyncPool does: what Pool.Free
		// guarantees.
		p := sync.Pool{New: func() any { return new(workload.LineItem) }}
		b.ReportAllocs()
		for b.Loop() {
			for i := range dst {
				dst[i] = p.Get().(*workload.LineItem)
			}
			for _, x := range dst {
				*x = workload.LineItem{}
				p.Put(x)
			}
		}
		reportPerObject(b, objBatch)
	})
}

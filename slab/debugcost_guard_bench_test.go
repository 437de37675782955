//go:build slabdebug

package slab_test

import (
	"testing"

	"github.com/slabtrack/slabtrack/slab"
)

// costPlain is 64 bytes and pointer-free: guard pages can hold it.
type costPlain struct {
	C [8]int64
}

// BenchmarkCostGuardPages measures a debug Alloc+Free pair of a
// pointer-free type in its slab (its freed slot poisoned) and on guard
// pages (its freed slot made inaccessible), with the default settings.
func BenchmarkCostGuardPages(b *testing.B) {
	for _, c := range []struct {
		name string
		on   bool
	}{{"guard=0", false}, {"guard=1", true}} {
		b.Run(c.name, func(b *testing.B) {
			p := slab.New[costPlain](slab.WithGuardPages(c.on))
			b.ReportAllocs()
			for b.Loop() {
				x := p.Alloc()
				x.C[0] = 1
				p.Free(x)
			}
		})
	}
}

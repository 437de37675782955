package poison

import (
	"reflect"
	"testing"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/fault"
)

// obj56 is a 56-byte type with three reference words.
type obj56 struct {
	ID       int64
	Customer *customer
	Name     string
	Total    float64
	Qty      int32
	Flag     bool
	Next     *obj56
}

// obj200 is a 200-byte type with 11 reference words of every kind.
type obj200 struct {
	ID       int64
	Customer *customer
	Items    []item
	Meta     map[string]int
	Sink     writer
	Tags     [4]string
	Totals   [6]float64
	Flags    [8]bool
	Done     chan struct{}
	F        func()
}

// benchSlot measures the poisoning work of one slot's free and reuse: the
// legacy scheme (zero, fill the scalars with 0x6b, verify, zero) beside
// Poison, Verify, typed zeroing and Release of the cell.
func benchSlot[T any](b *testing.B) {
	l := For(reflect.TypeFor[T]())
	if unsafe.Sizeof(*new(T)) != l.size {
		b.Fatal("layout size")
	}
	b.Run("scheme=legacy-fill-find", func(b *testing.B) {
		x := new(T)
		b.ReportAllocs()
		for b.Loop() {
			var zero T
			*x = zero
			l.Fill(unsafe.Pointer(x))
			if _, bad := l.Find(unsafe.Pointer(x), true); bad {
				b.Fatal("legacy poison changed")
			}
			*x = zero
		}
	})
	b.Run("scheme=poison-verify", func(b *testing.B) {
		x := new(T)
		b.ReportAllocs()
		for b.Loop() {
			c := l.Poison(unsafe.Pointer(x), fault.Record{Pool: 1, Slot: 2, Serial: 3})
			if _, bad := l.Verify(unsafe.Pointer(x), c); bad {
				b.Fatal("poison changed")
			}
			var zero T
			*x = zero
			fault.Release(c)
		}
	})
	b.Run("scheme=poison-verify-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			x := new(T)
			for pb.Next() {
				c := l.Poison(unsafe.Pointer(x), fault.Record{Pool: 1, Slot: 2, Serial: 3})
				if _, bad := l.Verify(unsafe.Pointer(x), c); bad {
					panic("poison changed")
				}
				var zero T
				*x = zero
				fault.Release(c)
			}
		})
	})
}

func BenchmarkSlot(b *testing.B) {
	// Hand out every cell once, so that the side table's allocation is
	// not measured.
	for range fault.Cells() {
		fault.Release(fault.Acquire(fault.Record{}))
	}
	b.Run("size=56B", benchSlot[obj56])
	b.Run("size=200B", benchSlot[obj200])
}

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

// obj200 is a 200-byte type with 10 reference words of most kinds.
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
// Poison, Verify, typed zeroing and Release of the cell, on one goroutine
// and on GOMAXPROCS.
func benchSlot[T any](b *testing.B) {
	l := For(reflect.TypeFor[T]())
	schemes := []struct {
		name string
		slot func(x *T)
	}{
		{"legacy", func(x *T) {
			var zero T
			*x = zero
			l.Fill(unsafe.Pointer(x))
			if _, bad := l.Find(unsafe.Pointer(x), true); bad {
				panic("legacy poison changed")
			}
			*x = zero
		}},
		{"poison", func(x *T) {
			c := l.Poison(unsafe.Pointer(x), fault.Record{Pool: 1, Slot: 2, Serial: 3})
			if _, bad := l.Verify(unsafe.Pointer(x), c); bad {
				panic("poison changed")
			}
			var zero T
			*x = zero
			fault.Release(c)
		}},
	}
	for _, parallel := range []bool{false, true} {
		g := "goroutines=1"
		if parallel {
			g = "goroutines=GOMAXPROCS"
		}
		for _, sc := range schemes {
			b.Run(g+"/scheme="+sc.name, func(b *testing.B) {
				b.ReportAllocs()
				if !parallel {
					x := new(T)
					for b.Loop() {
						sc.slot(x)
					}
					return
				}
				b.RunParallel(func(pb *testing.PB) {
					x := new(T)
					for pb.Next() {
						sc.slot(x)
					}
				})
			})
		}
	}
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

// The benchmark types are the sizes their names say.
func TestBenchmarkTypes(t *testing.T) {
	if unsafe.Sizeof(obj56{}) != 56 || unsafe.Sizeof(obj200{}) != 200 {
		t.Fatalf("obj56 is %d bytes, obj200 %d", unsafe.Sizeof(obj56{}), unsafe.Sizeof(obj200{}))
	}
	if n := len(For(reflect.TypeFor[obj56]()).refs); n != 3 {
		t.Errorf("obj56 has %d reference words, want 3", n)
	}
	if n := len(For(reflect.TypeFor[obj200]()).refs); n != 10 {
		t.Errorf("obj200 has %d reference words, want 10", n)
	}
}

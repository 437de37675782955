package reqwork_test

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/reqwork"
)

func TestTypeSizes(t *testing.T) {
	tests := []struct {
		typ      reflect.Type
		size     uintptr
		pointers bool
	}{
		{reflect.TypeFor[reqwork.Order](), 256, true},
		{reflect.TypeFor[reqwork.Customer](), 64, true},
		{reflect.TypeFor[reqwork.Address](), 80, true},
		{reflect.TypeFor[reqwork.Product](), 96, true},
		{reflect.TypeFor[reqwork.LineItem](), 64, true},
		{reflect.TypeFor[reqwork.Discount](), 32, false},
		{reflect.TypeFor[reqwork.TaxLine](), 48, false},
		{reflect.TypeFor[reqwork.Shipment](), 128, true},
		{reflect.TypeFor[reqwork.Payment](), 96, true},
		{reflect.TypeFor[reqwork.AuditEvent](), 160, true},
	}
	for _, tt := range tests {
		t.Run(tt.typ.Name(), func(t *testing.T) {
			assert.Equal(t, tt.size, tt.typ.Size(), "the type has its documented size")
			assert.Equal(t, tt.pointers, hasPointers(tt.typ), "the type holds pointers as documented")
		})
	}
}

func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.String, reflect.Slice, reflect.Map, reflect.Chan, reflect.Func, reflect.Interface, reflect.UnsafePointer:
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

// counter is a Source that counts what passes through it.
type counter[T any] struct{ allocs, frees *int }

func (c counter[T]) Alloc() *T { *c.allocs++; return new(T) }
func (c counter[T]) Free(*T)   { *c.frees++ }

func TestBuildAllocatesEveryObjectOnceAndFreeReturnsThem(t *testing.T) {
	var allocs, frees int
	src := &reqwork.Sources{
		Order:      counter[reqwork.Order]{&allocs, &frees},
		Customer:   counter[reqwork.Customer]{&allocs, &frees},
		Address:    counter[reqwork.Address]{&allocs, &frees},
		Product:    counter[reqwork.Product]{&allocs, &frees},
		LineItem:   counter[reqwork.LineItem]{&allocs, &frees},
		Discount:   counter[reqwork.Discount]{&allocs, &frees},
		TaxLine:    counter[reqwork.TaxLine]{&allocs, &frees},
		Shipment:   counter[reqwork.Shipment]{&allocs, &frees},
		Payment:    counter[reqwork.Payment]{&allocs, &frees},
		AuditEvent: counter[reqwork.AuditEvent]{&allocs, &frees},
	}
	var r reqwork.Request
	r.Build(src, 7)
	assert.Equal(t, 300, reqwork.ObjectsPerRequest, "a request has 300 objects")
	assert.Equal(t, reqwork.ObjectsPerRequest, allocs, "Build allocates every object of the request once")
	r.Free(src)
	assert.Equal(t, reqwork.ObjectsPerRequest, frees, "Free gives every object back once")
	assert.Equal(t, reqwork.Request{}, r, "Free leaves the request empty")
}

func TestReleaseReplacesPerObjectFree(t *testing.T) {
	var allocs, frees int
	released := 0
	src := reqwork.HeapSources()
	src.Order = counter[reqwork.Order]{&allocs, &frees}
	src.Release = func() { released++ }
	var r reqwork.Request
	r.Build(src, 1)
	r.Free(src)
	assert.Equal(t, 1, released, "Free calls Release once")
	assert.Zero(t, frees, "Free does not free objects one by one when Release is set")
	assert.Equal(t, reqwork.Request{}, r, "Free leaves the request empty")
}

func TestStrategiesBuildTheSameRequest(t *testing.T) {
	strategies := []struct {
		name string
		src  *reqwork.Sources
	}{
		{"heap", reqwork.HeapSources()},
		{"syncpool", reqwork.SyncPoolSources()},
		{"chanpool", reqwork.ChanPoolSources(1)},
	}
	var want [3]uint64
	var r reqwork.Request
	for i := range want {
		r.Build(reqwork.HeapSources(), uint64(i))
		want[i] = r.Checksum()
		r = reqwork.Request{}
	}
	require.NotEqual(t, want[0], want[1], "requests with different numbers differ")

	for _, st := range strategies {
		t.Run(st.name, func(t *testing.T) {
			// Several rounds, so that pooled strategies reuse objects.
			for round := range 3 {
				for i := range want {
					r.Build(st.src, uint64(i))
					assert.Equal(t, want[i], r.Checksum(), "request %d of round %d matches the heap strategy's", i, round)
					r.Free(st.src)
				}
			}
		})
	}
}

func TestChanPoolZeroesFreedObjects(t *testing.T) {
	p := reqwork.NewChanPool[reqwork.Customer](1)
	c := p.Alloc()
	c.Name = "x"
	c.Billing = new(reqwork.Address)
	p.Free(c)
	got := p.Alloc()
	require.Same(t, c, got, "the channel pool hands back the object it kept")
	assert.Equal(t, reqwork.Customer{}, *got, "a reused object is zero")
}

func TestSyncPoolZeroesFreedObjects(t *testing.T) {
	p := reqwork.NewSyncPool[reqwork.Customer]()
	c := p.Alloc()
	c.Name = "x"
	p.Free(c)
	assert.Equal(t, reqwork.Customer{}, *c, "Free zeroes the object before it goes back to the pool")
}

func TestBackground(t *testing.T) {
	b := reqwork.NewBackground(1 << 20)
	assert.Equal(t, 1<<20, b.Bytes(), "the background heap has the size asked for")
	assert.Equal(t, (1<<20)/64, b.Len(), "every node is reachable from the roots")
}

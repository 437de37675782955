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

// countingSources returns Sources of new(T) that count every Alloc in allocs
// and every Free in frees.
func countingSources(allocs, frees *int) *reqwork.Sources {
	return &reqwork.Sources{
		Order:      counter[reqwork.Order]{allocs, frees},
		Customer:   counter[reqwork.Customer]{allocs, frees},
		Address:    counter[reqwork.Address]{allocs, frees},
		Product:    counter[reqwork.Product]{allocs, frees},
		LineItem:   counter[reqwork.LineItem]{allocs, frees},
		Discount:   counter[reqwork.Discount]{allocs, frees},
		TaxLine:    counter[reqwork.TaxLine]{allocs, frees},
		Shipment:   counter[reqwork.Shipment]{allocs, frees},
		Payment:    counter[reqwork.Payment]{allocs, frees},
		AuditEvent: counter[reqwork.AuditEvent]{allocs, frees},
	}
}

func TestBuildAllocatesEveryObjectOnceAndFreeReturnsThem(t *testing.T) {
	var allocs, frees int
	src := countingSources(&allocs, &frees)
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
	for _, st := range strategies {
		t.Run(st.name, func(t *testing.T) {
			assert.NoError(t, reqwork.Verify(st.src, 3, 3), "the strategy builds new(T)'s requests, also with reused objects")
		})
	}
}

// dirty is a Source whose objects come with a field set that Build never
// writes, as from a pool that hands out an object without zeroing it.
type dirty struct{}

func (dirty) Alloc() *reqwork.Discount { return &reqwork.Discount{AmountCents: 7} }
func (dirty) Free(*reqwork.Discount)   {}

func TestVerifyFindsObjectsNotZeroed(t *testing.T) {
	src := reqwork.HeapSources()
	src.Discount = dirty{}
	err := reqwork.Verify(src, 3, 2)
	require.Error(t, err, "Verify finds the objects that were not zero when allocated")
	assert.Contains(t, err.Error(), "round 0, request 0:", "the first request is named")
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

func TestStagedBuildsTheSameRequest(t *testing.T) {
	var allocs, frees int
	src := countingSources(&allocs, &frees)
	st := reqwork.NewStaged(src)
	var r reqwork.Request
	for seq := range uint64(3) {
		r.Build(reqwork.HeapSources(), seq)
		want := r.Checksum()
		r = reqwork.Request{}

		allocs, frees = 0, 0
		st.Stage()
		assert.Equal(t, reqwork.ObjectsPerRequest, allocs, "request %d: Stage allocates every object of a request once", seq)
		r.Build(st.Sources(), seq)
		assert.Equal(t, reqwork.ObjectsPerRequest, allocs, "request %d: Build on staged objects allocates nothing more", seq)
		assert.Equal(t, want, r.Checksum(), "request %d: Build on staged objects gives the request Build gives", seq)
		st.Free()
		assert.Equal(t, reqwork.ObjectsPerRequest, frees, "request %d: Free gives every staged object back to its source", seq)
		r = reqwork.Request{}
	}
}

// batch is a BatchSource that counts its calls.
type batch[T any] struct{ allocNs, freeNs, objs *int }

func (b batch[T]) Alloc() *T { panic("Stage calls AllocN of a BatchSource") }
func (b batch[T]) Free(*T)   { panic("Staged.Free calls FreeN of a BatchSource") }
func (b batch[T]) AllocN(dst []*T) {
	*b.allocNs++
	for i := range dst {
		dst[i] = new(T)
		*b.objs++
	}
}
func (b batch[T]) FreeN(xs []*T) { *b.freeNs++; *b.objs -= len(xs) }

func TestStagedUsesBatchSources(t *testing.T) {
	var allocNs, freeNs, objs int
	src := reqwork.HeapSources()
	src.Release = nil
	src.LineItem = batch[reqwork.LineItem]{&allocNs, &freeNs, &objs}
	src.AuditEvent = batch[reqwork.AuditEvent]{&allocNs, &freeNs, &objs}
	st := reqwork.NewStaged(src)
	var r reqwork.Request
	st.Stage()
	assert.Equal(t, 2, allocNs, "Stage calls AllocN once per BatchSource")
	assert.Equal(t, reqwork.NumItems+reqwork.NumAuditEvents, objs, "AllocN fills the request's objects of the type")
	r.Build(st.Sources(), 1)
	st.Free()
	assert.Equal(t, 2, freeNs, "Staged.Free calls FreeN once per BatchSource")
	assert.Zero(t, objs, "FreeN gives back every object AllocN made")
}

func TestStagedFreeReleases(t *testing.T) {
	released := 0
	src := reqwork.HeapSources()
	src.Release = func() { released++ }
	st := reqwork.NewStaged(src)
	st.Stage()
	st.Free()
	assert.Equal(t, 1, released, "Staged.Free calls Release once when it is set")
}

func TestStagedMisusePanics(t *testing.T) {
	src := reqwork.HeapSources()
	st := reqwork.NewStaged(src)
	var r reqwork.Request
	tests := []struct {
		name string
		use  func()
		err  string
	}{
		{"Build without Stage", func() { r.Build(st.Sources(), 1) },
			"reqwork: Alloc of a staged Source with no object left: call Staged.Stage before each Build"},
		{"Free without Stage", func() { st.Free() },
			"reqwork: Staged.Free with nothing staged: call it once after each Stage"},
		{"a second Build on one Stage", func() {
			st.Stage()
			r.Build(st.Sources(), 1)
			r = reqwork.Request{}
			r.Build(st.Sources(), 2)
		}, "reqwork: Alloc of a staged Source with no object left: call Staged.Stage before each Build"},
		{"Build after Free", func() {
			st.Stage()
			st.Free()
			r.Build(st.Sources(), 1)
		}, "reqwork: Alloc of a staged Source with no object left: call Staged.Stage before each Build"},
		{"a second Free", func() {
			st.Stage()
			st.Free()
			st.Free()
		}, "reqwork: Staged.Free with nothing staged: call it once after each Stage"},
		{"Free through a staged Source", func() { st.Sources().Order.Free(new(reqwork.Order)) },
			"reqwork: Free of a staged Source: free the objects through Staged.Free or the Sources they were staged from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r = reqwork.Request{}
			assert.PanicsWithError(t, tt.err, tt.use, "the misuse panics with an error that says what to do")
		})
	}
}

package workload_test

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/workload"
)

func TestOrderTypeSizes(t *testing.T) {
	tests := []struct {
		typ      reflect.Type
		size     uintptr
		pointers bool
	}{
		{reflect.TypeFor[workload.Order](), 248, true},
		{reflect.TypeFor[workload.Customer](), 72, true},
		{reflect.TypeFor[workload.Address](), 96, true},
		{reflect.TypeFor[workload.Product](), 104, true},
		{reflect.TypeFor[workload.LineItem](), 128, true},
		{reflect.TypeFor[workload.Discount](), 40, true},
		{reflect.TypeFor[workload.TaxLine](), 40, true},
		{reflect.TypeFor[workload.Shipment](), 96, true},
		{reflect.TypeFor[workload.Payment](), 40, true},
		{reflect.TypeFor[workload.AuditEvent](), 40, true},
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
func countingSources(allocs, frees *int) *workload.Sources {
	return &workload.Sources{
		Order:      counter[workload.Order]{allocs, frees},
		Customer:   counter[workload.Customer]{allocs, frees},
		Address:    counter[workload.Address]{allocs, frees},
		Product:    counter[workload.Product]{allocs, frees},
		LineItem:   counter[workload.LineItem]{allocs, frees},
		Discount:   counter[workload.Discount]{allocs, frees},
		TaxLine:    counter[workload.TaxLine]{allocs, frees},
		Shipment:   counter[workload.Shipment]{allocs, frees},
		Payment:    counter[workload.Payment]{allocs, frees},
		AuditEvent: counter[workload.AuditEvent]{allocs, frees},
	}
}

func TestBuildAllocatesEveryObjectOnceAndFreeReturnsThem(t *testing.T) {
	var allocs, frees int
	src := countingSources(&allocs, &frees)
	var r workload.Request
	r.Build(src, 7)
	assert.Equal(t, 300, workload.ObjectsPerRequest, "a request has 300 objects")
	assert.Equal(t, workload.ObjectsPerRequest, allocs, "Build allocates every object of the request once")
	r.Free(src)
	assert.Equal(t, workload.ObjectsPerRequest, frees, "Free gives every object back once")
	assert.Equal(t, workload.Request{}, r, "Free leaves the request empty")
}

func TestReleaseReplacesPerObjectFree(t *testing.T) {
	var allocs, frees int
	released := 0
	src := workload.HeapSources()
	src.Order = counter[workload.Order]{&allocs, &frees}
	src.Release = func() { released++ }
	var r workload.Request
	r.Build(src, 1)
	r.Free(src)
	assert.Equal(t, 1, released, "Free calls Release once")
	assert.Zero(t, frees, "Free does not free objects one by one when Release is set")
	assert.Equal(t, workload.Request{}, r, "Free leaves the request empty")
}

func TestStrategiesBuildTheSameRequest(t *testing.T) {
	strategies := []struct {
		name string
		src  *workload.Sources
	}{
		{"heap", workload.HeapSources()},
		{"syncpool", workload.SyncPoolSources()},
		{"chanpool", workload.ChanPoolSources(1)},
	}
	for _, st := range strategies {
		t.Run(st.name, func(t *testing.T) {
			assert.NoError(t, workload.Verify(st.src, 3, 3), "the strategy builds new(T)'s requests, also with reused objects")
		})
	}
}

// dirty is a Source whose objects come with a field set that Build never
// writes, as from a pool that hands out an object without zeroing it.
type dirty struct{}

func (dirty) Alloc() *workload.Customer { return &workload.Customer{TaxExempt: true} }
func (dirty) Free(*workload.Customer)   {}

func TestVerifyFindsObjectsNotZeroed(t *testing.T) {
	src := workload.HeapSources()
	src.Customer = dirty{}
	err := workload.Verify(src, 3, 2)
	require.Error(t, err, "Verify finds the objects that were not zero when allocated")
	assert.Contains(t, err.Error(), "round 0, request 0:", "the first request is named")
}

func TestChanPoolZeroesFreedObjects(t *testing.T) {
	p := workload.NewChanPool[workload.Order](1)
	o := p.Alloc()
	o.ID = "x"
	o.ShipTo = new(workload.Address)
	p.Free(o)
	got := p.Alloc()
	require.Same(t, o, got, "the channel pool hands back the object it kept")
	assert.Equal(t, workload.Order{}, *got, "a reused object is zero")
}

func TestSyncPoolZeroesFreedObjects(t *testing.T) {
	p := workload.NewSyncPool[workload.Customer]()
	c := p.Alloc()
	c.Name = "x"
	p.Free(c)
	assert.Equal(t, workload.Customer{}, *c, "Free zeroes the object before it goes back to the pool")
}

func TestBackground(t *testing.T) {
	b := workload.NewBackground(1 << 20)
	assert.Equal(t, 1<<20, b.Bytes(), "the background heap has the size asked for")
	assert.Equal(t, (1<<20)/64, b.Len(), "every node is reachable from the roots")
}

func TestStagedBuildsTheSameRequest(t *testing.T) {
	var allocs, frees int
	src := countingSources(&allocs, &frees)
	st := workload.NewStaged(src)
	var r workload.Request
	for seq := range uint64(3) {
		r.Build(workload.HeapSources(), seq)
		want := r.Checksum()
		r = workload.Request{}

		allocs, frees = 0, 0
		st.Stage()
		assert.Equal(t, workload.ObjectsPerRequest, allocs, "request %d: Stage allocates every object of a request once", seq)
		r.Build(st.Sources(), seq)
		assert.Equal(t, workload.ObjectsPerRequest, allocs, "request %d: Build on staged objects allocates nothing more", seq)
		assert.Equal(t, want, r.Checksum(), "request %d: Build on staged objects gives the request Build gives", seq)
		st.Free()
		assert.Equal(t, workload.ObjectsPerRequest, frees, "request %d: Free gives every staged object back to its source", seq)
		r = workload.Request{}
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
	src := workload.HeapSources()
	src.Release = nil
	src.LineItem = batch[workload.LineItem]{&allocNs, &freeNs, &objs}
	src.AuditEvent = batch[workload.AuditEvent]{&allocNs, &freeNs, &objs}
	st := workload.NewStaged(src)
	var r workload.Request
	st.Stage()
	assert.Equal(t, 2, allocNs, "Stage calls AllocN once per BatchSource")
	assert.Equal(t, workload.NumItems+workload.NumAuditEvents, objs, "AllocN fills the request's objects of the type")
	r.Build(st.Sources(), 1)
	st.Free()
	assert.Equal(t, 2, freeNs, "Staged.Free calls FreeN once per BatchSource")
	assert.Zero(t, objs, "FreeN gives back every object AllocN made")
}

func TestStagedFreeReleases(t *testing.T) {
	released := 0
	src := workload.HeapSources()
	src.Release = func() { released++ }
	st := workload.NewStaged(src)
	st.Stage()
	st.Free()
	assert.Equal(t, 1, released, "Staged.Free calls Release once when it is set")
}

func TestStagedMisusePanics(t *testing.T) {
	src := workload.HeapSources()
	st := workload.NewStaged(src)
	var r workload.Request
	tests := []struct {
		name string
		use  func()
		err  string
	}{
		{"Build without Stage", func() { r.Build(st.Sources(), 1) },
			"workload: Alloc of a staged Source with no object left: call Staged.Stage before each Build"},
		{"Free without Stage", func() { st.Free() },
			"workload: Staged.Free with nothing staged: call it once after each Stage"},
		{"a second Build on one Stage", func() {
			st.Stage()
			r.Build(st.Sources(), 1)
			r = workload.Request{}
			r.Build(st.Sources(), 2)
		}, "workload: Alloc of a staged Source with no object left: call Staged.Stage before each Build"},
		{"Build after Free", func() {
			st.Stage()
			st.Free()
			r.Build(st.Sources(), 1)
		}, "workload: Alloc of a staged Source with no object left: call Staged.Stage before each Build"},
		{"a second Free", func() {
			st.Stage()
			st.Free()
			st.Free()
		}, "workload: Staged.Free with nothing staged: call it once after each Stage"},
		{"Free through a staged Source", func() { st.Sources().Order.Free(new(workload.Order)) },
			"workload: Free of a staged Source: free the objects through Staged.Free or the Sources they were staged from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r = workload.Request{}
			assert.PanicsWithError(t, tt.err, tt.use, "the misuse panics with an error that says what to do")
		})
	}
}

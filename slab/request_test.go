package slab_test

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/slabtrack/slabtrack/slab"
)

// The slab strategies of the request workload of internal/workload, which
// cannot import slab: BenchmarkRequest, BenchmarkRequestPhases,
// BenchmarkMigrate and the scope tests build their requests with them.

// reqOrder is the workload's Order under the name that the sampling and
// ScopePool tests give it: a 248-byte type with pointers.
type reqOrder = workload.Order

// requestStrategy is one way to allocate the objects of a request.
type requestStrategy struct {
	name string
	// setup makes the shared state of one benchmark run (the pools) and
	// returns the function that gives each goroutine its Sources.
	setup func() func() *workload.Sources
}

// requestStrategies are the strategies of BenchmarkRequest, under their
// alloc= names.
var requestStrategies = []requestStrategy{
	{"new", func() func() *workload.Sources {
		return workload.HeapSources
	}},
	{"syncpool", func() func() *workload.Sources {
		src := workload.SyncPoolSources()
		return func() *workload.Sources { return src }
	}},
	{"chanpool", func() func() *workload.Sources {
		src := workload.ChanPoolSources(runtime.GOMAXPROCS(0))
		return func() *workload.Sources { return src }
	}},
	{"slab", func() func() *workload.Sources {
		src := slabSources(newRequestPools())
		return func() *workload.Sources { return src }
	}},
	{"scope", func() func() *workload.Sources {
		pools := newRequestPools()
		return func() *workload.Sources { return scopeSources(pools, slab.NewScope()) }
	}},
	{"newin", func() func() *workload.Sources {
		return func() *workload.Sources { return newInSources(slab.NewScope()) }
	}},
}

// requestPools has one slab.Pool per type of the request workload.
type requestPools struct {
	order      *slab.Pool[workload.Order]
	customer   *slab.Pool[workload.Customer]
	address    *slab.Pool[workload.Address]
	product    *slab.Pool[workload.Product]
	lineItem   *slab.Pool[workload.LineItem]
	discount   *slab.Pool[workload.Discount]
	taxLine    *slab.Pool[workload.TaxLine]
	shipment   *slab.Pool[workload.Shipment]
	payment    *slab.Pool[workload.Payment]
	auditEvent *slab.Pool[workload.AuditEvent]
}

func newRequestPools(opts ...slab.Option) *requestPools {
	return &requestPools{
		order:      slab.New[workload.Order](opts...),
		customer:   slab.New[workload.Customer](opts...),
		address:    slab.New[workload.Address](opts...),
		product:    slab.New[workload.Product](opts...),
		lineItem:   slab.New[workload.LineItem](opts...),
		discount:   slab.New[workload.Discount](opts...),
		taxLine:    slab.New[workload.TaxLine](opts...),
		shipment:   slab.New[workload.Shipment](opts...),
		payment:    slab.New[workload.Payment](opts...),
		auditEvent: slab.New[workload.AuditEvent](opts...),
	}
}

// live is the sum of the pools' live objects.
func (p *requestPools) live() int64 {
	var n int64
	for _, st := range []slab.Stats{
		p.order.Stats(), p.customer.Stats(), p.address.Stats(), p.product.Stats(), p.lineItem.Stats(),
		p.discount.Stats(), p.taxLine.Stats(), p.shipment.Stats(), p.payment.Stats(), p.auditEvent.Stats(),
	} {
		n += st.Live
	}
	return n
}

// pooled is the workload.BatchSource of a slab.Pool: Alloc and Free, and
// loops of them without an interface call per object.
type pooled[T any] struct{ p *slab.Pool[T] }

func (x pooled[T]) Alloc() *T { return x.p.Alloc() }
func (x pooled[T]) Free(v *T) { x.p.Free(v) }

func (x pooled[T]) AllocN(dst []*T) {
	for i := range dst {
		dst[i] = x.p.Alloc()
	}
}

func (x pooled[T]) FreeN(xs []*T) {
	for _, v := range xs {
		x.p.Free(v)
	}
}

// slabSources allocates with Pool.Alloc and frees each object with
// Pool.Free.
func slabSources(p *requestPools) *workload.Sources {
	return &workload.Sources{
		Order:      pooled[workload.Order]{p.order},
		Customer:   pooled[workload.Customer]{p.customer},
		Address:    pooled[workload.Address]{p.address},
		Product:    pooled[workload.Product]{p.product},
		LineItem:   pooled[workload.LineItem]{p.lineItem},
		Discount:   pooled[workload.Discount]{p.discount},
		TaxLine:    pooled[workload.TaxLine]{p.taxLine},
		Shipment:   pooled[workload.Shipment]{p.shipment},
		Payment:    pooled[workload.Payment]{p.payment},
		AuditEvent: pooled[workload.AuditEvent]{p.auditEvent},
	}
}

// scoped is the workload.BatchSource that allocates in a request scope with
// Pool.AllocIn.
type scoped[T any] struct {
	p *slab.Pool[T]
	s *slab.Scope
}

func (x scoped[T]) Alloc() *T { return x.p.AllocIn(x.s) }

func (x scoped[T]) AllocN(dst []*T) {
	for i := range dst {
		dst[i] = x.p.AllocIn(x.s)
	}
}

// Free and FreeN are never called: Sources.Release releases the whole scope
// instead.
func (scoped[T]) Free(*T)    {}
func (scoped[T]) FreeN([]*T) {}

// scopeSources allocates every object in s with Pool.AllocIn and releases
// them all with one s.Release. Each goroutine needs its own scope.
func scopeSources(p *requestPools, s *slab.Scope) *workload.Sources {
	return &workload.Sources{
		Order:      scoped[workload.Order]{p.order, s},
		Customer:   scoped[workload.Customer]{p.customer, s},
		Address:    scoped[workload.Address]{p.address, s},
		Product:    scoped[workload.Product]{p.product, s},
		LineItem:   scoped[workload.LineItem]{p.lineItem, s},
		Discount:   scoped[workload.Discount]{p.discount, s},
		TaxLine:    scoped[workload.TaxLine]{p.taxLine, s},
		Shipment:   scoped[workload.Shipment]{p.shipment, s},
		Payment:    scoped[workload.Payment]{p.payment, s},
		AuditEvent: scoped[workload.AuditEvent]{p.auditEvent, s},
		Release:    s.Release,
	}
}

// newIn is the workload.BatchSource that allocates in a request scope with
// slab.NewIn, from the type's process-wide pool.
type newIn[T any] struct{ s *slab.Scope }

func (x newIn[T]) Alloc() *T { return slab.NewIn[T](x.s) }

func (x newIn[T]) AllocN(dst []*T) {
	for i := range dst {
		dst[i] = slab.NewIn[T](x.s)
	}
}

// Free and FreeN are never called: Sources.Release releases the whole scope
// instead.
func (newIn[T]) Free(*T)    {}
func (newIn[T]) FreeN([]*T) {}

// newInSources allocates every object in s with slab.NewIn and releases them
// all with one s.Release. Each goroutine needs its own scope.
func newInSources(s *slab.Scope) *workload.Sources {
	return &workload.Sources{
		Order:      newIn[workload.Order]{s},
		Customer:   newIn[workload.Customer]{s},
		Address:    newIn[workload.Address]{s},
		Product:    newIn[workload.Product]{s},
		LineItem:   newIn[workload.LineItem]{s},
		Discount:   newIn[workload.Discount]{s},
		TaxLine:    newIn[workload.TaxLine]{s},
		Shipment:   newIn[workload.Shipment]{s},
		Payment:    newIn[workload.Payment]{s},
		AuditEvent: newIn[workload.AuditEvent]{s},
		Release:    s.Release,
	}
}

// The strategies of BenchmarkRequestPhases allocate and free a type's
// objects in one call (see workload.Staged).
var (
	_ workload.BatchSource[workload.Order] = pooled[workload.Order]{}
	_ workload.BatchSource[workload.Order] = scoped[workload.Order]{}
	_ workload.BatchSource[workload.Order] = newIn[workload.Order]{}
	_ workload.BatchSource[workload.Order] = (*workload.SyncPool[workload.Order])(nil)
	_ workload.BatchSource[workload.Order] = (*workload.ChanPool[workload.Order])(nil)
)

func TestRequestStrategiesBuildTheSameRequest(t *testing.T) {
	// Every strategy the benchmarks compare builds the requests that new(T)
	// builds, also when it reuses its slots and through workload.Staged: a
	// slot handed out without being zeroed, or to two objects at once, would
	// change a checksum.
	for _, st := range requestStrategies {
		t.Run("alloc="+st.name, func(t *testing.T) {
			assert.NoError(t, workload.Verify(st.setup()(), 3, 3), "the strategy builds new(T)'s requests")
		})
	}
}

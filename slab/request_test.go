package slab_test

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/slabtrack/slabtrack/internal/reqwork"
	"github.com/slabtrack/slabtrack/slab"
)

// The slab strategies of the request workload of internal/reqwork, which
// cannot import slab: BenchmarkRequest, BenchmarkRequestPhases,
// BenchmarkMigrate and the scope tests build their requests with them.

// reqOrder is the workload's Order under the name that the sampling and
// ScopePool tests give it: a 256-byte type with pointers.
type reqOrder = reqwork.Order

// requestStrategy is one way to allocate the objects of a request.
type requestStrategy struct {
	name string
	// setup makes the shared state of one benchmark run (the pools) and
	// returns the function that gives each goroutine its Sources.
	setup func() func() *reqwork.Sources
}

// requestStrategies are the strategies of BenchmarkRequest, under their
// alloc= names.
var requestStrategies = []requestStrategy{
	{"new", func() func() *reqwork.Sources {
		return reqwork.HeapSources
	}},
	{"syncpool", func() func() *reqwork.Sources {
		src := reqwork.SyncPoolSources()
		return func() *reqwork.Sources { return src }
	}},
	{"chanpool", func() func() *reqwork.Sources {
		src := reqwork.ChanPoolSources(runtime.GOMAXPROCS(0))
		return func() *reqwork.Sources { return src }
	}},
	{"slab", func() func() *reqwork.Sources {
		src := slabSources(newRequestPools())
		return func() *reqwork.Sources { return src }
	}},
	{"scope", func() func() *reqwork.Sources {
		pools := newRequestPools()
		return func() *reqwork.Sources { return scopeSources(pools, slab.NewScope()) }
	}},
	{"newin", func() func() *reqwork.Sources {
		return func() *reqwork.Sources { return newInSources(slab.NewScope()) }
	}},
}

// requestPools has one slab.Pool per type of the request workload.
type requestPools struct {
	order      *slab.Pool[reqwork.Order]
	customer   *slab.Pool[reqwork.Customer]
	address    *slab.Pool[reqwork.Address]
	product    *slab.Pool[reqwork.Product]
	lineItem   *slab.Pool[reqwork.LineItem]
	discount   *slab.Pool[reqwork.Discount]
	taxLine    *slab.Pool[reqwork.TaxLine]
	shipment   *slab.Pool[reqwork.Shipment]
	payment    *slab.Pool[reqwork.Payment]
	auditEvent *slab.Pool[reqwork.AuditEvent]
}

func newRequestPools(opts ...slab.Option) *requestPools {
	return &requestPools{
		order:      slab.New[reqwork.Order](opts...),
		customer:   slab.New[reqwork.Customer](opts...),
		address:    slab.New[reqwork.Address](opts...),
		product:    slab.New[reqwork.Product](opts...),
		lineItem:   slab.New[reqwork.LineItem](opts...),
		discount:   slab.New[reqwork.Discount](opts...),
		taxLine:    slab.New[reqwork.TaxLine](opts...),
		shipment:   slab.New[reqwork.Shipment](opts...),
		payment:    slab.New[reqwork.Payment](opts...),
		auditEvent: slab.New[reqwork.AuditEvent](opts...),
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

// pooled is the reqwork.BatchSource of a slab.Pool: Alloc and Free, and
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
func slabSources(p *requestPools) *reqwork.Sources {
	return &reqwork.Sources{
		Order:      pooled[reqwork.Order]{p.order},
		Customer:   pooled[reqwork.Customer]{p.customer},
		Address:    pooled[reqwork.Address]{p.address},
		Product:    pooled[reqwork.Product]{p.product},
		LineItem:   pooled[reqwork.LineItem]{p.lineItem},
		Discount:   pooled[reqwork.Discount]{p.discount},
		TaxLine:    pooled[reqwork.TaxLine]{p.taxLine},
		Shipment:   pooled[reqwork.Shipment]{p.shipment},
		Payment:    pooled[reqwork.Payment]{p.payment},
		AuditEvent: pooled[reqwork.AuditEvent]{p.auditEvent},
	}
}

// scoped is the reqwork.BatchSource that allocates in a request scope with
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
func scopeSources(p *requestPools, s *slab.Scope) *reqwork.Sources {
	return &reqwork.Sources{
		Order:      scoped[reqwork.Order]{p.order, s},
		Customer:   scoped[reqwork.Customer]{p.customer, s},
		Address:    scoped[reqwork.Address]{p.address, s},
		Product:    scoped[reqwork.Product]{p.product, s},
		LineItem:   scoped[reqwork.LineItem]{p.lineItem, s},
		Discount:   scoped[reqwork.Discount]{p.discount, s},
		TaxLine:    scoped[reqwork.TaxLine]{p.taxLine, s},
		Shipment:   scoped[reqwork.Shipment]{p.shipment, s},
		Payment:    scoped[reqwork.Payment]{p.payment, s},
		AuditEvent: scoped[reqwork.AuditEvent]{p.auditEvent, s},
		Release:    s.Release,
	}
}

// newIn is the reqwork.BatchSource that allocates in a request scope with
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
func newInSources(s *slab.Scope) *reqwork.Sources {
	return &reqwork.Sources{
		Order:      newIn[reqwork.Order]{s},
		Customer:   newIn[reqwork.Customer]{s},
		Address:    newIn[reqwork.Address]{s},
		Product:    newIn[reqwork.Product]{s},
		LineItem:   newIn[reqwork.LineItem]{s},
		Discount:   newIn[reqwork.Discount]{s},
		TaxLine:    newIn[reqwork.TaxLine]{s},
		Shipment:   newIn[reqwork.Shipment]{s},
		Payment:    newIn[reqwork.Payment]{s},
		AuditEvent: newIn[reqwork.AuditEvent]{s},
		Release:    s.Release,
	}
}

// The strategies of BenchmarkRequestPhases allocate and free a type's
// objects in one call (see reqwork.Staged).
var (
	_ reqwork.BatchSource[reqwork.Order] = pooled[reqwork.Order]{}
	_ reqwork.BatchSource[reqwork.Order] = scoped[reqwork.Order]{}
	_ reqwork.BatchSource[reqwork.Order] = newIn[reqwork.Order]{}
	_ reqwork.BatchSource[reqwork.Order] = (*reqwork.SyncPool[reqwork.Order])(nil)
	_ reqwork.BatchSource[reqwork.Order] = (*reqwork.ChanPool[reqwork.Order])(nil)
)

func TestRequestStrategiesBuildTheSameRequest(t *testing.T) {
	// Every strategy the benchmarks compare builds the requests that new(T)
	// builds, also when it reuses its slots and through reqwork.Staged: a
	// slot handed out without being zeroed, or to two objects at once, would
	// change a checksum.
	for _, st := range requestStrategies {
		t.Run("alloc="+st.name, func(t *testing.T) {
			assert.NoError(t, reqwork.Verify(st.setup()(), 3, 3), "the strategy builds new(T)'s requests")
		})
	}
}

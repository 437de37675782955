package main

import (
	"sync"

	"github.com/slabtrack/slabtrack/slab"
)

// The five implementations of Allocator, one per value of -alloc.

// heap: new(T), left to the garbage collector.

type heapAlloc[T any] struct{}

func (heapAlloc[T]) New() *T  { return new(T) }
func (heapAlloc[T]) Release() {}

func heapObjects() *Objects {
	return &Objects{
		Orders: heapAlloc[Order]{}, Lines: heapAlloc[LineItem]{}, Products: heapAlloc[Product]{},
		Customers: heapAlloc[Customer]{}, Addresses: heapAlloc[Address]{}, Discounts: heapAlloc[Discount]{},
		Taxes: heapAlloc[TaxLine]{}, Shipments: heapAlloc[Shipment]{}, Payments: heapAlloc[Payment]{},
		Events: heapAlloc[AuditEvent]{},
	}
}

// taken lists the objects one request took from a pool that does not track
// them itself (sync.Pool, a channel, slab.Pool without a scope), so that
// Release can give each one back.
type taken[T any] struct {
	objs []*T
}

func (t *taken[T]) add(x *T) *T {
	t.objs = append(t.objs, x)
	return x
}

// giveBack calls put on every object taken, then forgets them.
func (t *taken[T]) giveBack(put func(*T)) {
	for i, x := range t.objs {
		put(x)
		t.objs[i] = nil
	}
	t.objs = t.objs[:0]
}

// syncpool: one sync.Pool per type. Objects are zeroed when put back, so
// that a pooled object pins nothing, as slab's Free does.

type syncPoolAlloc[T any] struct {
	taken[T]
	pool *sync.Pool
}

func (a *syncPoolAlloc[T]) New() *T {
	x, _ := a.pool.Get().(*T)
	if x == nil {
		x = new(T)
	}
	return a.add(x)
}

func (a *syncPoolAlloc[T]) Release() { a.giveBack(a.put) }

func (a *syncPoolAlloc[T]) put(x *T) {
	var zero T
	*x = zero
	a.pool.Put(x)
}

type syncPools struct {
	pools [10]sync.Pool
}

func newSyncPools() *syncPools { return new(syncPools) }

func newSyncPoolAlloc[T any](p *sync.Pool) *syncPoolAlloc[T] {
	return &syncPoolAlloc[T]{pool: p}
}

func (ps *syncPools) objects() *Objects {
	return &Objects{
		Orders:    newSyncPoolAlloc[Order](&ps.pools[0]),
		Lines:     newSyncPoolAlloc[LineItem](&ps.pools[1]),
		Products:  newSyncPoolAlloc[Product](&ps.pools[2]),
		Customers: newSyncPoolAlloc[Customer](&ps.pools[3]),
		Addresses: newSyncPoolAlloc[Address](&ps.pools[4]),
		Discounts: newSyncPoolAlloc[Discount](&ps.pools[5]),
		Taxes:     newSyncPoolAlloc[TaxLine](&ps.pools[6]),
		Shipments: newSyncPoolAlloc[Shipment](&ps.pools[7]),
		Payments:  newSyncPoolAlloc[Payment](&ps.pools[8]),
		Events:    newSyncPoolAlloc[AuditEvent](&ps.pools[9]),
	}
}

// chan: a buffered channel of free objects per type, taken and given back
// with select/default: new(T) when it is empty, dropped when it is full.

// chanPoolSize is the capacity of each channel: enough for 32 concurrent
// requests of the sample order's heaviest type.
const chanPoolSize = 8192

type chanAlloc[T any] struct {
	taken[T]
	ch chan *T
}

func (a *chanAlloc[T]) New() *T {
	var x *T
	select {
	case x = <-a.ch:
	default:
		x = new(T)
	}
	return a.add(x)
}

func (a *chanAlloc[T]) Release() { a.giveBack(a.put) }

func (a *chanAlloc[T]) put(x *T) {
	var zero T
	*x = zero
	select {
	case a.ch <- x:
	default:
	}
}

type chanPools struct {
	orders    chan *Order
	lines     chan *LineItem
	products  chan *Product
	customers chan *Customer
	addresses chan *Address
	discounts chan *Discount
	taxes     chan *TaxLine
	shipments chan *Shipment
	payments  chan *Payment
	events    chan *AuditEvent
}

func newChanPools(size int) *chanPools {
	return &chanPools{
		orders: make(chan *Order, size), lines: make(chan *LineItem, size), products: make(chan *Product, size),
		customers: make(chan *Customer, size), addresses: make(chan *Address, size), discounts: make(chan *Discount, size),
		taxes: make(chan *TaxLine, size), shipments: make(chan *Shipment, size), payments: make(chan *Payment, size),
		events: make(chan *AuditEvent, size),
	}
}

func newChanAlloc[T any](ch chan *T) *chanAlloc[T] {
	return &chanAlloc[T]{ch: ch}
}

func (cs *chanPools) objects() *Objects {
	return &Objects{
		Orders: newChanAlloc(cs.orders), Lines: newChanAlloc(cs.lines), Products: newChanAlloc(cs.products),
		Customers: newChanAlloc(cs.customers), Addresses: newChanAlloc(cs.addresses),
		Discounts: newChanAlloc(cs.discounts), Taxes: newChanAlloc(cs.taxes),
		Shipments: newChanAlloc(cs.shipments), Payments: newChanAlloc(cs.payments),
		Events: newChanAlloc(cs.events),
	}
}

// slabPools are the slab.Pools behind the scope and pool strategies, one
// per type, named after the strategy and the type ("scope/orders").
type slabPools struct {
	orders    *slab.Pool[Order]
	lines     *slab.Pool[LineItem]
	products  *slab.Pool[Product]
	customers *slab.Pool[Customer]
	addresses *slab.Pool[Address]
	discounts *slab.Pool[Discount]
	taxes     *slab.Pool[TaxLine]
	shipments *slab.Pool[Shipment]
	payments  *slab.Pool[Payment]
	events    *slab.Pool[AuditEvent]
}

func newSlabPools(prefix string) *slabPools {
	name := func(s string) slab.Option { return slab.WithName(prefix + "/" + s) }
	return &slabPools{
		orders:    slab.New[Order](name("orders")),
		lines:     slab.New[LineItem](name("lines")),
		products:  slab.New[Product](name("products")),
		customers: slab.New[Customer](name("customers")),
		addresses: slab.New[Address](name("addresses")),
		discounts: slab.New[Discount](name("discounts")),
		taxes:     slab.New[TaxLine](name("taxes")),
		shipments: slab.New[Shipment](name("shipments")),
		payments:  slab.New[Payment](name("payments")),
		events:    slab.New[AuditEvent](name("events")),
	}
}

// live sums Stats().Live over the pools.
func (ps *slabPools) live() int64 {
	return ps.orders.Stats().Live + ps.lines.Stats().Live + ps.products.Stats().Live +
		ps.customers.Stats().Live + ps.addresses.Stats().Live + ps.discounts.Stats().Live +
		ps.taxes.Stats().Live + ps.shipments.Stats().Live + ps.payments.Stats().Live +
		ps.events.Stats().Live
}

// pool: slab.Pool.Alloc, and Pool.Free of each object at the end of the
// request.

type poolAlloc[T any] struct {
	taken[T]
	pool *slab.Pool[T]
}

func (a *poolAlloc[T]) New() *T  { return a.add(a.pool.Alloc()) }
func (a *poolAlloc[T]) Release() { a.giveBack(a.pool.Free) }

func newPoolAlloc[T any](p *slab.Pool[T]) *poolAlloc[T] {
	return &poolAlloc[T]{pool: p}
}

func (ps *slabPools) poolObjects() *Objects {
	return &Objects{
		Orders: newPoolAlloc(ps.orders), Lines: newPoolAlloc(ps.lines), Products: newPoolAlloc(ps.products),
		Customers: newPoolAlloc(ps.customers), Addresses: newPoolAlloc(ps.addresses),
		Discounts: newPoolAlloc(ps.discounts), Taxes: newPoolAlloc(ps.taxes),
		Shipments: newPoolAlloc(ps.shipments), Payments: newPoolAlloc(ps.payments),
		Events: newPoolAlloc(ps.events),
	}
}

// scope: Pool.AllocIn the request's scope, which slabhttp.Middleware
// releases, all objects of all pools at once, when the handler returns.

// scopeBinding is the scope of the request an Objects serves, shared by its
// ten allocators and set by Strategy.begin.
type scopeBinding struct {
	s *slab.Scope
}

type scopeAlloc[T any] struct {
	pool  *slab.Pool[T]
	scope *scopeBinding
}

func (a scopeAlloc[T]) New() *T { return a.pool.AllocIn(a.scope.s) }

// Release does nothing: the middleware releases the whole scope.
func (a scopeAlloc[T]) Release() {}

func (ps *slabPools) scopeObjects() *Objects {
	o := new(Objects)
	b := &o.scope
	o.Orders = scopeAlloc[Order]{ps.orders, b}
	o.Lines = scopeAlloc[LineItem]{ps.lines, b}
	o.Products = scopeAlloc[Product]{ps.products, b}
	o.Customers = scopeAlloc[Customer]{ps.customers, b}
	o.Addresses = scopeAlloc[Address]{ps.addresses, b}
	o.Discounts = scopeAlloc[Discount]{ps.discounts, b}
	o.Taxes = scopeAlloc[TaxLine]{ps.taxes, b}
	o.Shipments = scopeAlloc[Shipment]{ps.shipments, b}
	o.Payments = scopeAlloc[Payment]{ps.payments, b}
	o.Events = scopeAlloc[AuditEvent]{ps.events, b}
	return o
}

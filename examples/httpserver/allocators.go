package main

import (
	"sync"

	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// The five implementations of Allocator, one per value of -alloc.
//
// The pooled ones (syncpool, chan, pool) put an object back through its
// type's reset: the Reset method of the types that own slices (keeping
// their capacity), zeroing for the others. That is how experienced Go
// developers write sync.Pool code, and what slab.WithReset lets a
// slab.Pool do.

// zero resets x to its zero value.
func zero[T any](x *T) {
	var z T
	*x = z
}

// heap: new(T), left to the garbage collector.

type heapAlloc[T any] struct{}

func (heapAlloc[T]) New() *T  { return new(T) }
func (heapAlloc[T]) Release() {}

func heapObjects() *Objects {
	return &Objects{
		Requests:  heapAlloc[PriceRequest]{},
		Orders:    heapAlloc[workload.Order]{},
		Customers: heapAlloc[workload.Customer]{},
		Addresses: heapAlloc[workload.Address]{},
		Lines:     heapAlloc[workload.LineItem]{},
		Products:  heapAlloc[workload.Product]{},
		Discounts: heapAlloc[workload.Discount]{},
		Taxes:     heapAlloc[workload.TaxLine]{},
		Shipments: heapAlloc[workload.Shipment]{},
		Payments:  heapAlloc[workload.Payment]{},
		Events:    heapAlloc[workload.AuditEvent]{},
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

// syncpool: one sync.Pool per type; objects are reset when put back.

type syncPoolAlloc[T any] struct {
	taken[T]
	pool  *sync.Pool
	reset func(*T)
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
	a.reset(x)
	a.pool.Put(x)
}

// syncPools are the sync.Pools of one syncpool strategy.
type syncPools struct {
	requests, orders, customers, addresses, lines, products, discounts, taxes, shipments, payments, events sync.Pool
}

func newSyncPoolAlloc[T any](p *sync.Pool, reset func(*T)) *syncPoolAlloc[T] {
	return &syncPoolAlloc[T]{pool: p, reset: reset}
}

func (ps *syncPools) objects() *Objects {
	return &Objects{
		Requests:  newSyncPoolAlloc(&ps.requests, (*PriceRequest).Reset),
		Orders:    newSyncPoolAlloc(&ps.orders, (*workload.Order).Reset),
		Customers: newSyncPoolAlloc(&ps.customers, zero[workload.Customer]),
		Addresses: newSyncPoolAlloc(&ps.addresses, zero[workload.Address]),
		Lines:     newSyncPoolAlloc(&ps.lines, (*workload.LineItem).Reset),
		Products:  newSyncPoolAlloc(&ps.products, zero[workload.Product]),
		Discounts: newSyncPoolAlloc(&ps.discounts, zero[workload.Discount]),
		Taxes:     newSyncPoolAlloc(&ps.taxes, zero[workload.TaxLine]),
		Shipments: newSyncPoolAlloc(&ps.shipments, (*workload.Shipment).Reset),
		Payments:  newSyncPoolAlloc(&ps.payments, zero[workload.Payment]),
		Events:    newSyncPoolAlloc(&ps.events, zero[workload.AuditEvent]),
	}
}

// chan: a buffered channel of free objects per type, taken and given back
// with select/default: new(T) when it is empty, dropped when it is full.

// chanPoolSize is the capacity of each channel: enough for 32 concurrent
// requests of the sample order's most numerous type.
const chanPoolSize = 8192

type chanAlloc[T any] struct {
	taken[T]
	ch    chan *T
	reset func(*T)
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
	a.reset(x)
	select {
	case a.ch <- x:
	default:
	}
}

type chanPools struct {
	requests  chan *PriceRequest
	orders    chan *workload.Order
	customers chan *workload.Customer
	addresses chan *workload.Address
	lines     chan *workload.LineItem
	products  chan *workload.Product
	discounts chan *workload.Discount
	taxes     chan *workload.TaxLine
	shipments chan *workload.Shipment
	payments  chan *workload.Payment
	events    chan *workload.AuditEvent
}

func newChanPools(size int) *chanPools {
	return &chanPools{
		requests:  make(chan *PriceRequest, size),
		orders:    make(chan *workload.Order, size),
		customers: make(chan *workload.Customer, size),
		addresses: make(chan *workload.Address, size),
		lines:     make(chan *workload.LineItem, size),
		products:  make(chan *workload.Product, size),
		discounts: make(chan *workload.Discount, size),
		taxes:     make(chan *workload.TaxLine, size),
		shipments: make(chan *workload.Shipment, size),
		payments:  make(chan *workload.Payment, size),
		events:    make(chan *workload.AuditEvent, size),
	}
}

func newChanAlloc[T any](ch chan *T, reset func(*T)) *chanAlloc[T] {
	return &chanAlloc[T]{ch: ch, reset: reset}
}

func (cs *chanPools) objects() *Objects {
	return &Objects{
		Requests:  newChanAlloc(cs.requests, (*PriceRequest).Reset),
		Orders:    newChanAlloc(cs.orders, (*workload.Order).Reset),
		Customers: newChanAlloc(cs.customers, zero[workload.Customer]),
		Addresses: newChanAlloc(cs.addresses, zero[workload.Address]),
		Lines:     newChanAlloc(cs.lines, (*workload.LineItem).Reset),
		Products:  newChanAlloc(cs.products, zero[workload.Product]),
		Discounts: newChanAlloc(cs.discounts, zero[workload.Discount]),
		Taxes:     newChanAlloc(cs.taxes, zero[workload.TaxLine]),
		Shipments: newChanAlloc(cs.shipments, (*workload.Shipment).Reset),
		Payments:  newChanAlloc(cs.payments, zero[workload.Payment]),
		Events:    newChanAlloc(cs.events, zero[workload.AuditEvent]),
	}
}

// pool: a slab.Pool per type, Alloc, and Free of each object at the end of
// the request. The pools of the types that own slices reset their objects
// on Free with slab.WithReset, keeping the slices' capacity; the others
// zero them, as Free does by default.

// slabPools are the slab.Pools of the pool strategy, named after the
// strategy and the type ("pool/orders").
type slabPools struct {
	requests  *slab.Pool[PriceRequest]
	orders    *slab.Pool[workload.Order]
	customers *slab.Pool[workload.Customer]
	addresses *slab.Pool[workload.Address]
	lines     *slab.Pool[workload.LineItem]
	products  *slab.Pool[workload.Product]
	discounts *slab.Pool[workload.Discount]
	taxes     *slab.Pool[workload.TaxLine]
	shipments *slab.Pool[workload.Shipment]
	payments  *slab.Pool[workload.Payment]
	events    *slab.Pool[workload.AuditEvent]
}

func newSlabPools(prefix string) *slabPools {
	name := func(s string) slab.Option { return slab.WithName(prefix + "/" + s) }
	return &slabPools{
		requests:  slab.New[PriceRequest](name("requests"), slab.WithReset((*PriceRequest).Reset)),
		orders:    slab.New[workload.Order](name("orders"), slab.WithReset((*workload.Order).Reset)),
		customers: slab.New[workload.Customer](name("customers")),
		addresses: slab.New[workload.Address](name("addresses")),
		lines:     slab.New[workload.LineItem](name("lines"), slab.WithReset((*workload.LineItem).Reset)),
		products:  slab.New[workload.Product](name("products")),
		discounts: slab.New[workload.Discount](name("discounts")),
		taxes:     slab.New[workload.TaxLine](name("taxes")),
		shipments: slab.New[workload.Shipment](name("shipments"), slab.WithReset((*workload.Shipment).Reset)),
		payments:  slab.New[workload.Payment](name("payments")),
		events:    slab.New[workload.AuditEvent](name("events")),
	}
}

// live sums Stats().Live over the pools.
func (ps *slabPools) live() int64 {
	return ps.requests.Stats().Live + ps.orders.Stats().Live + ps.customers.Stats().Live +
		ps.addresses.Stats().Live + ps.lines.Stats().Live +
		ps.products.Stats().Live + ps.discounts.Stats().Live + ps.taxes.Stats().Live +
		ps.shipments.Stats().Live + ps.payments.Stats().Live + ps.events.Stats().Live
}

type poolAlloc[T any] struct {
	taken[T]
	pool *slab.Pool[T]
}

func (a *poolAlloc[T]) New() *T  { return a.add(a.pool.Alloc()) }
func (a *poolAlloc[T]) Release() { a.giveBack(a.pool.Free) }

func newPoolAlloc[T any](p *slab.Pool[T]) *poolAlloc[T] {
	return &poolAlloc[T]{pool: p}
}

func (ps *slabPools) objects() *Objects {
	return &Objects{
		Requests: newPoolAlloc(ps.requests), Orders: newPoolAlloc(ps.orders), Customers: newPoolAlloc(ps.customers),
		Addresses: newPoolAlloc(ps.addresses), Lines: newPoolAlloc(ps.lines),
		Products: newPoolAlloc(ps.products), Discounts: newPoolAlloc(ps.discounts), Taxes: newPoolAlloc(ps.taxes),
		Shipments: newPoolAlloc(ps.shipments), Payments: newPoolAlloc(ps.payments), Events: newPoolAlloc(ps.events),
	}
}

// scope: slab.NewIn the request's scope, which slabhttp.Middleware
// releases, everything at once, when the handler returns. NewIn finds the
// process-wide pool of each type itself: no pool is declared. Slices grow
// in the scope (appendTo, growTo), strings are made in it (newString), and
// the request is read and decoded into it.

// scopeAlloc allocates in the scope of the Objects it belongs to.
type scopeAlloc[T any] struct{ o *Objects }

func (a scopeAlloc[T]) New() *T { return slab.NewIn[T](a.o.scope) }

// Release does nothing: the middleware releases the whole scope.
func (scopeAlloc[T]) Release() {}

func scopeObjects() *Objects {
	o := new(Objects)
	o.Requests = scopeAlloc[PriceRequest]{o}
	o.Orders = scopeAlloc[workload.Order]{o}
	o.Customers = scopeAlloc[workload.Customer]{o}
	o.Addresses = scopeAlloc[workload.Address]{o}
	o.Lines = scopeAlloc[workload.LineItem]{o}
	o.Products = scopeAlloc[workload.Product]{o}
	o.Discounts = scopeAlloc[workload.Discount]{o}
	o.Taxes = scopeAlloc[workload.TaxLine]{o}
	o.Shipments = scopeAlloc[workload.Shipment]{o}
	o.Payments = scopeAlloc[workload.Payment]{o}
	o.Events = scopeAlloc[workload.AuditEvent]{o}
	return o
}

// scopeLive counts the scopes of the process's ScopePools (the one of
// slabhttp.Middleware among them) that were got and not put back: a
// request's scope holds everything it allocated, so a scope not put back is
// what a leak would be.
func scopeLive() int64 {
	var n int64
	for _, st := range tracker.ScopePools() {
		n += st.InUse
	}
	return n
}

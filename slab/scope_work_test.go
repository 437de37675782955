package slab_test

// The per-request workload of the scope benchmarks and tests: 300 objects
// over 10 struct types of 32 to 256 bytes, some with pointer fields, linked
// to each other as an order-pricing handler would link them. Every strategy
// allocates the same objects into a reqObjs, runs the same work on them and
// then frees them its own way.

import (
	"sync"

	"github.com/slabtrack/slabtrack/slab"
)

// perType is the number of objects of each type per request.
const perType = 30

// reqTypes is the number of struct types per request.
const reqTypes = 10

// objsPerRequest is the number of objects per request.
const objsPerRequest = perType * reqTypes

type Address struct { // 32 bytes, no pointers
	Zip      int32
	Country  [4]byte
	Lat, Lon float64
	Number   int64
}

type Customer struct { // 64 bytes
	ID    int64
	Name  string
	Email string
	Addr  *Address
	Tier  int64
	_     [8]byte
}

type Product struct { // 96 bytes
	ID     int64
	SKU    string
	Name   string
	Price  int64
	Weight int64
	Tags   []string
	_      [8]byte
}

type LineItem struct { // 48 bytes
	Product  *Product
	Discount *Discount
	Qty      int64
	Price    int64
	Total    int64
	Line     int64
}

type Discount struct { // 40 bytes
	Code    string
	Percent int64
	Amount  int64
	Flags   int64
}

type TaxLine struct { // 64 bytes, no pointers
	Rate, Base, Amount int64
	Juris              [40]byte
}

type Shipment struct { // 128 bytes
	Carrier  string
	Tracking string
	Address  *Address
	Items    []*LineItem
	Weight   int64
	Cost     int64
	_        [40]byte
}

type Payment struct { // 160 bytes
	Method   string
	Token    string
	Amount   int64
	Currency [8]byte
	Customer *Customer
	_        [112]byte
}

type AuditEvent struct { // 192 bytes
	At    int64
	Kind  string
	Order *Order
	Data  [160]byte
}

type Order struct { // 256 bytes
	ID       int64
	Customer *Customer
	Shipment *Shipment
	Payment  *Payment
	Items    []*LineItem
	Totals   [24]int64
}

// reqObjs holds one request's objects. Every strategy fills it, so the work
// and the bookkeeping are the same for all; only freeing differs.
type reqObjs struct {
	addrs     [perType]*Address
	customers [perType]*Customer
	products  [perType]*Product
	lines     [perType]*LineItem
	discounts [perType]*Discount
	taxes     [perType]*TaxLine
	shipments [perType]*Shipment
	payments  [perType]*Payment
	audits    [perType]*AuditEvent
	orders    [perType]*Order
}

// work links and fills the objects of a request and returns a checksum, so
// that no strategy can skip it.
func (r *reqObjs) work(n int64) int64 {
	var sum int64
	for i := range perType {
		k := n + int64(i)
		a := r.addrs[i]
		a.Zip, a.Number = int32(k), k
		c := r.customers[i]
		c.ID, c.Name, c.Addr = k, "customer", a
		p := r.products[i]
		p.ID, p.SKU, p.Price = k, "sku", 100+k
		d := r.discounts[i]
		d.Code, d.Percent = "SAVE10", 10
		l := r.lines[i]
		l.Product, l.Discount, l.Qty = p, d, 2
		l.Total = l.Qty * p.Price * (100 - d.Percent) / 100
		t := r.taxes[i]
		t.Base, t.Rate = l.Total, 8
		t.Amount = t.Base * t.Rate / 100
		s := r.shipments[i]
		s.Carrier, s.Address, s.Cost = "post", a, 5
		y := r.payments[i]
		y.Method, y.Customer, y.Amount = "card", c, l.Total+t.Amount+s.Cost
		o := r.orders[i]
		o.ID, o.Customer, o.Shipment, o.Payment = k, c, s, y
		o.Totals[0] = y.Amount
		e := r.audits[i]
		e.At, e.Kind, e.Order = k, "priced", o
		sum += o.Totals[0] + int64(a.Zip)
	}
	return sum
}

// A strategy allocates a request's objects and frees them. A strategy value
// is used by one goroutine; strategies of the same kind share their pools.
type strategy interface {
	alloc(r *reqObjs)
	free(r *reqObjs)
}

// slabPools are the ten pools of the slab strategies.
type slabPools struct {
	addrs     *slab.Pool[Address]
	customers *slab.Pool[Customer]
	products  *slab.Pool[Product]
	lines     *slab.Pool[LineItem]
	discounts *slab.Pool[Discount]
	taxes     *slab.Pool[TaxLine]
	shipments *slab.Pool[Shipment]
	payments  *slab.Pool[Payment]
	audits    *slab.Pool[AuditEvent]
	orders    *slab.Pool[Order]
}

func newSlabPools(opts ...slab.Option) *slabPools {
	return &slabPools{
		addrs:     slab.New[Address](opts...),
		customers: slab.New[Customer](opts...),
		products:  slab.New[Product](opts...),
		lines:     slab.New[LineItem](opts...),
		discounts: slab.New[Discount](opts...),
		taxes:     slab.New[TaxLine](opts...),
		shipments: slab.New[Shipment](opts...),
		payments:  slab.New[Payment](opts...),
		audits:    slab.New[AuditEvent](opts...),
		orders:    slab.New[Order](opts...),
	}
}

// live is the sum of the pools' live objects.
func (ps *slabPools) live() int64 {
	return ps.addrs.Stats().Live + ps.customers.Stats().Live + ps.products.Stats().Live +
		ps.lines.Stats().Live + ps.discounts.Stats().Live + ps.taxes.Stats().Live +
		ps.shipments.Stats().Live + ps.payments.Stats().Live + ps.audits.Stats().Live +
		ps.orders.Stats().Live
}

// scopeStrategy allocates in a scope and releases it.
type scopeStrategy struct {
	ps *slabPools
	s  *slab.Scope
}

func fillIn[T any](p *slab.Pool[T], s *slab.Scope, dst []*T) {
	for i := range dst {
		dst[i] = p.AllocIn(s)
	}
}

func (st *scopeStrategy) alloc(r *reqObjs) {
	ps, s := st.ps, st.s
	fillIn(ps.addrs, s, r.addrs[:])
	fillIn(ps.customers, s, r.customers[:])
	fillIn(ps.products, s, r.products[:])
	fillIn(ps.lines, s, r.lines[:])
	fillIn(ps.discounts, s, r.discounts[:])
	fillIn(ps.taxes, s, r.taxes[:])
	fillIn(ps.shipments, s, r.shipments[:])
	fillIn(ps.payments, s, r.payments[:])
	fillIn(ps.audits, s, r.audits[:])
	fillIn(ps.orders, s, r.orders[:])
}

func (st *scopeStrategy) free(*reqObjs) { st.s.Release() }

// poolStrategy allocates with Alloc and frees each object with Free.
type poolStrategy struct{ ps *slabPools }

func fillPool[T any](p *slab.Pool[T], dst []*T) {
	for i := range dst {
		dst[i] = p.Alloc()
	}
}

func drainPool[T any](p *slab.Pool[T], src []*T) {
	for _, x := range src {
		p.Free(x)
	}
}

func (st poolStrategy) alloc(r *reqObjs) {
	ps := st.ps
	fillPool(ps.addrs, r.addrs[:])
	fillPool(ps.customers, r.customers[:])
	fillPool(ps.products, r.products[:])
	fillPool(ps.lines, r.lines[:])
	fillPool(ps.discounts, r.discounts[:])
	fillPool(ps.taxes, r.taxes[:])
	fillPool(ps.shipments, r.shipments[:])
	fillPool(ps.payments, r.payments[:])
	fillPool(ps.audits, r.audits[:])
	fillPool(ps.orders, r.orders[:])
}

func (st poolStrategy) free(r *reqObjs) {
	ps := st.ps
	drainPool(ps.addrs, r.addrs[:])
	drainPool(ps.customers, r.customers[:])
	drainPool(ps.products, r.products[:])
	drainPool(ps.lines, r.lines[:])
	drainPool(ps.discounts, r.discounts[:])
	drainPool(ps.taxes, r.taxes[:])
	drainPool(ps.shipments, r.shipments[:])
	drainPool(ps.payments, r.payments[:])
	drainPool(ps.audits, r.audits[:])
	drainPool(ps.orders, r.orders[:])
}

// heapStrategy allocates with new and leaves the objects to the GC.
type heapStrategy struct{}

func fillHeap[T any](dst []*T) {
	for i := range dst {
		dst[i] = new(T)
	}
}

func (heapStrategy) alloc(r *reqObjs) {
	fillHeap(r.addrs[:])
	fillHeap(r.customers[:])
	fillHeap(r.products[:])
	fillHeap(r.lines[:])
	fillHeap(r.discounts[:])
	fillHeap(r.taxes[:])
	fillHeap(r.shipments[:])
	fillHeap(r.payments[:])
	fillHeap(r.audits[:])
	fillHeap(r.orders[:])
}

func (heapStrategy) free(r *reqObjs) { *r = reqObjs{} }

// syncPools are ten sync.Pools. Objects are zeroed on Put, so that a pooled
// object keeps nothing reachable and Get returns a zeroed T, as a slab does.
type syncPools [reqTypes]sync.Pool

func newSyncPools() *syncPools {
	var sp syncPools
	setNew[Address](&sp[0])
	setNew[Customer](&sp[1])
	setNew[Product](&sp[2])
	setNew[LineItem](&sp[3])
	setNew[Discount](&sp[4])
	setNew[TaxLine](&sp[5])
	setNew[Shipment](&sp[6])
	setNew[Payment](&sp[7])
	setNew[AuditEvent](&sp[8])
	setNew[Order](&sp[9])
	return &sp
}

func setNew[T any](p *sync.Pool) { p.New = func() any { return new(T) } }

func fillSync[T any](p *sync.Pool, dst []*T) {
	for i := range dst {
		dst[i] = p.Get().(*T)
	}
}

func drainSync[T any](p *sync.Pool, src []*T) {
	for _, x := range src {
		var zero T
		*x = zero
		p.Put(x)
	}
}

type syncStrategy struct{ sp *syncPools }

func (st syncStrategy) alloc(r *reqObjs) {
	sp := st.sp
	fillSync(&sp[0], r.addrs[:])
	fillSync(&sp[1], r.customers[:])
	fillSync(&sp[2], r.products[:])
	fillSync(&sp[3], r.lines[:])
	fillSync(&sp[4], r.discounts[:])
	fillSync(&sp[5], r.taxes[:])
	fillSync(&sp[6], r.shipments[:])
	fillSync(&sp[7], r.payments[:])
	fillSync(&sp[8], r.audits[:])
	fillSync(&sp[9], r.orders[:])
}

func (st syncStrategy) free(r *reqObjs) {
	sp := st.sp
	drainSync(&sp[0], r.addrs[:])
	drainSync(&sp[1], r.customers[:])
	drainSync(&sp[2], r.products[:])
	drainSync(&sp[3], r.lines[:])
	drainSync(&sp[4], r.discounts[:])
	drainSync(&sp[5], r.taxes[:])
	drainSync(&sp[6], r.shipments[:])
	drainSync(&sp[7], r.payments[:])
	drainSync(&sp[8], r.audits[:])
	drainSync(&sp[9], r.orders[:])
}

// chanPools are ten buffered channels used as pools, with select/default:
// a new T when empty, dropped when full.
type chanPools struct {
	addrs     chan *Address
	customers chan *Customer
	products  chan *Product
	lines     chan *LineItem
	discounts chan *Discount
	taxes     chan *TaxLine
	shipments chan *Shipment
	payments  chan *Payment
	audits    chan *AuditEvent
	orders    chan *Order
}

// chanCap holds the objects of a few requests in flight per type.
const chanCap = 8 * perType

func newChanPools() *chanPools {
	return &chanPools{
		addrs:     make(chan *Address, chanCap),
		customers: make(chan *Customer, chanCap),
		products:  make(chan *Product, chanCap),
		lines:     make(chan *LineItem, chanCap),
		discounts: make(chan *Discount, chanCap),
		taxes:     make(chan *TaxLine, chanCap),
		shipments: make(chan *Shipment, chanCap),
		payments:  make(chan *Payment, chanCap),
		audits:    make(chan *AuditEvent, chanCap),
		orders:    make(chan *Order, chanCap),
	}
}

func fillChan[T any](c chan *T, dst []*T) {
	for i := range dst {
		select {
		case x := <-c:
			dst[i] = x
		default:
			dst[i] = new(T)
		}
	}
}

func drainChan[T any](c chan *T, src []*T) {
	for _, x := range src {
		var zero T
		*x = zero
		select {
		case c <- x:
		default:
		}
	}
}

type chanStrategy struct{ cp *chanPools }

func (st chanStrategy) alloc(r *reqObjs) {
	cp := st.cp
	fillChan(cp.addrs, r.addrs[:])
	fillChan(cp.customers, r.customers[:])
	fillChan(cp.products, r.products[:])
	fillChan(cp.lines, r.lines[:])
	fillChan(cp.discounts, r.discounts[:])
	fillChan(cp.taxes, r.taxes[:])
	fillChan(cp.shipments, r.shipments[:])
	fillChan(cp.payments, r.payments[:])
	fillChan(cp.audits, r.audits[:])
	fillChan(cp.orders, r.orders[:])
}

func (st chanStrategy) free(r *reqObjs) {
	cp := st.cp
	drainChan(cp.addrs, r.addrs[:])
	drainChan(cp.customers, r.customers[:])
	drainChan(cp.products, r.products[:])
	drainChan(cp.lines, r.lines[:])
	drainChan(cp.discounts, r.discounts[:])
	drainChan(cp.taxes, r.taxes[:])
	drainChan(cp.shipments, r.shipments[:])
	drainChan(cp.payments, r.payments[:])
	drainChan(cp.audits, r.audits[:])
	drainChan(cp.orders, r.orders[:])
}

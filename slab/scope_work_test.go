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

// Objects of each type per request, as in the order-pricing workload of the
// project's benchmarks: one Order, Customer, Shipment and Payment.
const (
	numAddresses   = 2
	numItems       = 64 // LineItems, and as many Products and TaxLines
	numDiscounts   = 32
	numAuditEvents = 70

	// objsPerRequest is the number of objects one request allocates.
	objsPerRequest = 4 + numAddresses + 3*numItems + numDiscounts + numAuditEvents
)

// The ten types, 32 to 256 bytes; seven hold pointers, strings or slices.
type (
	reqOrder struct { // 256 bytes
		ID            uint64
		Customer      *reqCustomer
		Items         []*reqLineItem
		Discounts     []*reqDiscount
		Shipment      *reqShipment
		Payment       *reqPayment
		Audit         []*reqAuditEvent
		Status        string
		Currency      string
		SubtotalCents int64
		DiscountCents int64
		TaxCents      int64
		ShippingCents int64
		TotalCents    int64
		Notes         [80]byte
	}
	reqCustomer struct { // 64 bytes
		ID                uint64
		Name, Email       string
		Billing, Shipping *reqAddress
		Tier              int32
		Flags             uint32
	}
	reqAddress struct { // 80 bytes
		Street, City, Region, Postcode, Country string
	}
	reqProduct struct { // 96 bytes
		SKU         uint64
		Name        string
		Tags        []string
		PriceCents  int64
		WeightGrams int32
		Category    int32
		Dims        [4]float64
	}
	reqLineItem struct { // 64 bytes
		Product    *reqProduct
		Discount   *reqDiscount
		Tax        *reqTaxLine
		Line, Qty  int32
		UnitCents  int64
		NetCents   int64
		TaxCents   int64
		TotalCents int64
	}
	reqDiscount struct { // 32 bytes, no pointers
		Code        uint64
		Percent     float64
		AmountCents int64
		CapCents    int64
	}
	reqTaxLine struct { // 48 bytes, no pointers
		Jurisdiction uint64
		Rate         float64
		BaseCents    int64
		TaxCents     int64
		Category     int64
		Flags        uint64
	}
	reqShipment struct { // 128 bytes
		To          *reqAddress
		Carrier     string
		Service     string
		Items       []*reqLineItem
		Tracking    [24]byte
		WeightGrams int64
		CostCents   int64
		Legs        [3]int64
	}
	reqPayment struct { // 96 bytes
		Method      string
		Token       string
		AmountCents int64
		Currency    [8]byte
		AuthCode    [24]byte
		Customer    *reqCustomer
		Attempts    int64
		Status      int64
	}
	reqAuditEvent struct { // 160 bytes
		Seq     uint64
		At      int64
		Kind    string
		Actor   *reqCustomer
		Item    *reqLineItem
		Message string
		Attrs   [12]uint64
	}
)

// Static data the objects point into, so that the work allocates nothing.
var (
	reqStreets  = []string{"1 Market St", "22 Harbour Rd", "300 Mill Lane", "4 Station Sq"}
	reqCities   = []string{"Lisbon", "Utrecht", "Leeds", "Porto"}
	reqNames    = []string{"Ada Byron", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"}
	reqProducts = []string{"kettle", "teapot", "mug", "saucer", "spoon", "tray", "cosy", "strainer"}
	reqTags     = []string{"kitchen", "gift", "sale", "new", "eco", "bulk", "fragile", "tea"}
	reqCarriers = []string{"PostNL", "DHL", "CTT", "Royal Mail"}
	reqEvents   = []string{"priced", "discounted", "taxed", "shipped", "charged"}
)

// reqObjs holds one request's objects. Every strategy fills it, so the work
// and the bookkeeping are the same for all; only freeing differs.
type reqObjs struct {
	order     *reqOrder
	customer  *reqCustomer
	shipment  *reqShipment
	payment   *reqPayment
	addresses [numAddresses]*reqAddress
	products  [numItems]*reqProduct
	items     [numItems]*reqLineItem
	taxes     [numItems]*reqTaxLine
	discounts [numDiscounts]*reqDiscount
	audits    [numAuditEvents]*reqAuditEvent
}

// work fills, links and prices the objects of request number seq, and
// returns the order's total, so that no strategy can skip it.
func (r *reqObjs) work(seq uint64) int64 {
	k := int(seq % 4)
	for i, a := range r.addresses {
		a.Street = reqStreets[(k+i)%len(reqStreets)]
		a.City = reqCities[(k+i)%len(reqCities)]
		a.Region, a.Postcode, a.Country = "EU", "1011 AB", "NL"
	}
	c := r.customer
	c.ID, c.Name, c.Email = seq, reqNames[k], "buyer@example.com"
	c.Billing, c.Shipping = r.addresses[0], r.addresses[numAddresses-1]
	c.Tier = int32(seq % 3)
	for i, d := range r.discounts {
		d.Code = seq<<8 | uint64(i)
		d.Percent = float64((int(seq)+i)%20) / 100
		d.CapCents = 5000
	}
	for i, p := range r.products {
		p.SKU = uint64(1000 + i)
		p.Name = reqProducts[i%len(reqProducts)]
		j := (k + i) % (len(reqTags) - 1)
		p.Tags = reqTags[j : j+2]
		p.PriceCents = int64(199 + 100*(i%17))
		p.WeightGrams = int32(100 + 10*i)
		p.Category = int32(i % 5)
		p.Dims = [4]float64{10, 20, float64(i % 7), 1}
	}
	var subtotal, discount, tax, weight int64
	for i, li := range r.items {
		t, p, d := r.taxes[i], r.products[i], r.discounts[i%numDiscounts]
		li.Product, li.Discount, li.Tax = p, d, t
		li.Line = int32(i + 1)
		li.Qty = int32(1 + (int(seq)+i)%4)
		li.UnitCents = p.PriceCents
		gross := li.UnitCents * int64(li.Qty)
		off := min(int64(float64(gross)*d.Percent), d.CapCents)
		li.NetCents = gross - off
		t.Jurisdiction = uint64(k)
		t.Rate = 0.21
		t.BaseCents = li.NetCents
		t.TaxCents = int64(float64(li.NetCents) * t.Rate)
		t.Category = int64(p.Category)
		li.TaxCents = t.TaxCents
		li.TotalCents = li.NetCents + li.TaxCents
		subtotal += gross
		discount += off
		tax += t.TaxCents
		weight += int64(p.WeightGrams) * int64(li.Qty)
	}
	sh := r.shipment
	sh.To, sh.Carrier, sh.Service = c.Shipping, reqCarriers[k], "standard"
	sh.Items = r.items[:]
	sh.Tracking[0] = byte('A' + k)
	sh.WeightGrams = weight
	sh.CostCents = 495 + weight/1000*50
	sh.Legs = [3]int64{1, 2, int64(k)}
	o := r.order
	o.ID, o.Customer, o.Shipment = seq, c, sh
	o.Items, o.Discounts = r.items[:], r.discounts[:]
	o.Status, o.Currency = "priced", "EUR"
	o.SubtotalCents, o.DiscountCents, o.TaxCents = subtotal, discount, tax
	o.ShippingCents = sh.CostCents
	o.TotalCents = subtotal - discount + tax + sh.CostCents
	o.Notes[0] = byte(k)
	pay := r.payment
	pay.Method, pay.Token, pay.AmountCents = "card", "tok_visa", o.TotalCents
	copy(pay.Currency[:], o.Currency)
	pay.AuthCode[0] = byte(seq)
	pay.Customer, pay.Attempts, pay.Status = c, 1, 2
	o.Payment = pay
	for i, e := range r.audits {
		e.Seq, e.At = uint64(i), int64(seq)*1000+int64(i)
		e.Kind = reqEvents[i%len(reqEvents)]
		e.Actor, e.Item = c, r.items[i%numItems]
		e.Message = e.Item.Product.Name
		e.Attrs[0], e.Attrs[1] = uint64(e.Item.TotalCents), seq
	}
	o.Audit = r.audits[:]
	return o.TotalCents
}

// A strategy allocates a request's objects and frees them. A strategy value
// is used by one goroutine; strategies of the same kind share their pools.
// The caller empties the reqObjs after free, the same way for all: for the
// heap strategy, that is what lets the GC take the objects.
type strategy interface {
	alloc(r *reqObjs)
	free(r *reqObjs)
}

// slabPools are the ten pools of the slab strategies.
type slabPools struct {
	orders    *slab.Pool[reqOrder]
	customers *slab.Pool[reqCustomer]
	shipments *slab.Pool[reqShipment]
	payments  *slab.Pool[reqPayment]
	addresses *slab.Pool[reqAddress]
	products  *slab.Pool[reqProduct]
	items     *slab.Pool[reqLineItem]
	taxes     *slab.Pool[reqTaxLine]
	discounts *slab.Pool[reqDiscount]
	audits    *slab.Pool[reqAuditEvent]
}

func newSlabPools(opts ...slab.Option) *slabPools {
	return &slabPools{
		orders:    slab.New[reqOrder](opts...),
		customers: slab.New[reqCustomer](opts...),
		shipments: slab.New[reqShipment](opts...),
		payments:  slab.New[reqPayment](opts...),
		addresses: slab.New[reqAddress](opts...),
		products:  slab.New[reqProduct](opts...),
		items:     slab.New[reqLineItem](opts...),
		taxes:     slab.New[reqTaxLine](opts...),
		discounts: slab.New[reqDiscount](opts...),
		audits:    slab.New[reqAuditEvent](opts...),
	}
}

// stats returns the pools' Stats, in the order of the fields.
func (ps *slabPools) stats() []slab.Stats {
	return []slab.Stats{
		ps.orders.Stats(), ps.customers.Stats(), ps.shipments.Stats(), ps.payments.Stats(),
		ps.addresses.Stats(), ps.products.Stats(), ps.items.Stats(), ps.taxes.Stats(),
		ps.discounts.Stats(), ps.audits.Stats(),
	}
}

// live is the sum of the pools' live objects.
func (ps *slabPools) live() int64 {
	var n int64
	for _, st := range ps.stats() {
		n += st.Live
	}
	return n
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
	r.order = ps.orders.AllocIn(s)
	r.customer = ps.customers.AllocIn(s)
	r.shipment = ps.shipments.AllocIn(s)
	r.payment = ps.payments.AllocIn(s)
	fillIn(ps.addresses, s, r.addresses[:])
	fillIn(ps.products, s, r.products[:])
	fillIn(ps.items, s, r.items[:])
	fillIn(ps.taxes, s, r.taxes[:])
	fillIn(ps.discounts, s, r.discounts[:])
	fillIn(ps.audits, s, r.audits[:])
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
	r.order = ps.orders.Alloc()
	r.customer = ps.customers.Alloc()
	r.shipment = ps.shipments.Alloc()
	r.payment = ps.payments.Alloc()
	fillPool(ps.addresses, r.addresses[:])
	fillPool(ps.products, r.products[:])
	fillPool(ps.items, r.items[:])
	fillPool(ps.taxes, r.taxes[:])
	fillPool(ps.discounts, r.discounts[:])
	fillPool(ps.audits, r.audits[:])
}

func (st poolStrategy) free(r *reqObjs) {
	ps := st.ps
	ps.orders.Free(r.order)
	ps.customers.Free(r.customer)
	ps.shipments.Free(r.shipment)
	ps.payments.Free(r.payment)
	drainPool(ps.addresses, r.addresses[:])
	drainPool(ps.products, r.products[:])
	drainPool(ps.items, r.items[:])
	drainPool(ps.taxes, r.taxes[:])
	drainPool(ps.discounts, r.discounts[:])
	drainPool(ps.audits, r.audits[:])
}

// heapStrategy allocates with new and leaves the objects to the GC.
type heapStrategy struct{}

func fillHeap[T any](dst []*T) {
	for i := range dst {
		dst[i] = new(T)
	}
}

func (heapStrategy) alloc(r *reqObjs) {
	r.order = new(reqOrder)
	r.customer = new(reqCustomer)
	r.shipment = new(reqShipment)
	r.payment = new(reqPayment)
	fillHeap(r.addresses[:])
	fillHeap(r.products[:])
	fillHeap(r.items[:])
	fillHeap(r.taxes[:])
	fillHeap(r.discounts[:])
	fillHeap(r.audits[:])
}

func (heapStrategy) free(*reqObjs) {}

// syncPools are ten sync.Pools, one per type, in the order of slabPools.
// Objects are zeroed on Put, so that a pooled object keeps nothing reachable
// and Get returns a zeroed T, as a slab does.
type syncPools [10]sync.Pool

func newSyncPools() *syncPools {
	var sp syncPools
	setNew[reqOrder](&sp[0])
	setNew[reqCustomer](&sp[1])
	setNew[reqShipment](&sp[2])
	setNew[reqPayment](&sp[3])
	setNew[reqAddress](&sp[4])
	setNew[reqProduct](&sp[5])
	setNew[reqLineItem](&sp[6])
	setNew[reqTaxLine](&sp[7])
	setNew[reqDiscount](&sp[8])
	setNew[reqAuditEvent](&sp[9])
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
	r.order = sp[0].Get().(*reqOrder)
	r.customer = sp[1].Get().(*reqCustomer)
	r.shipment = sp[2].Get().(*reqShipment)
	r.payment = sp[3].Get().(*reqPayment)
	fillSync(&sp[4], r.addresses[:])
	fillSync(&sp[5], r.products[:])
	fillSync(&sp[6], r.items[:])
	fillSync(&sp[7], r.taxes[:])
	fillSync(&sp[8], r.discounts[:])
	fillSync(&sp[9], r.audits[:])
}

func (st syncStrategy) free(r *reqObjs) {
	sp := st.sp
	drainSync(&sp[0], []*reqOrder{r.order})
	drainSync(&sp[1], []*reqCustomer{r.customer})
	drainSync(&sp[2], []*reqShipment{r.shipment})
	drainSync(&sp[3], []*reqPayment{r.payment})
	drainSync(&sp[4], r.addresses[:])
	drainSync(&sp[5], r.products[:])
	drainSync(&sp[6], r.items[:])
	drainSync(&sp[7], r.taxes[:])
	drainSync(&sp[8], r.discounts[:])
	drainSync(&sp[9], r.audits[:])
}

// chanPools are ten buffered channels used as pools, with select/default:
// a new T when empty, dropped when full.
type chanPools struct {
	orders    chan *reqOrder
	customers chan *reqCustomer
	shipments chan *reqShipment
	payments  chan *reqPayment
	addresses chan *reqAddress
	products  chan *reqProduct
	items     chan *reqLineItem
	taxes     chan *reqTaxLine
	discounts chan *reqDiscount
	audits    chan *reqAuditEvent
}

// chanCap holds the objects of a few requests in flight per type.
const chanCap = 1024

func newChanPools() *chanPools {
	return &chanPools{
		orders:    make(chan *reqOrder, chanCap),
		customers: make(chan *reqCustomer, chanCap),
		shipments: make(chan *reqShipment, chanCap),
		payments:  make(chan *reqPayment, chanCap),
		addresses: make(chan *reqAddress, chanCap),
		products:  make(chan *reqProduct, chanCap),
		items:     make(chan *reqLineItem, chanCap),
		taxes:     make(chan *reqTaxLine, chanCap),
		discounts: make(chan *reqDiscount, chanCap),
		audits:    make(chan *reqAuditEvent, chanCap),
	}
}

func getChan[T any](c chan *T) *T {
	select {
	case x := <-c:
		return x
	default:
		return new(T)
	}
}

func fillChan[T any](c chan *T, dst []*T) {
	for i := range dst {
		dst[i] = getChan(c)
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
	r.order = getChan(cp.orders)
	r.customer = getChan(cp.customers)
	r.shipment = getChan(cp.shipments)
	r.payment = getChan(cp.payments)
	fillChan(cp.addresses, r.addresses[:])
	fillChan(cp.products, r.products[:])
	fillChan(cp.items, r.items[:])
	fillChan(cp.taxes, r.taxes[:])
	fillChan(cp.discounts, r.discounts[:])
	fillChan(cp.audits, r.audits[:])
}

func (st chanStrategy) free(r *reqObjs) {
	cp := st.cp
	drainChan(cp.orders, []*reqOrder{r.order})
	drainChan(cp.customers, []*reqCustomer{r.customer})
	drainChan(cp.shipments, []*reqShipment{r.shipment})
	drainChan(cp.payments, []*reqPayment{r.payment})
	drainChan(cp.addresses, r.addresses[:])
	drainChan(cp.products, r.products[:])
	drainChan(cp.items, r.items[:])
	drainChan(cp.taxes, r.taxes[:])
	drainChan(cp.discounts, r.discounts[:])
	drainChan(cp.audits, r.audits[:])
}

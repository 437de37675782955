// End-to-end tests of slabtrack through its public API only, used as an
// application would use it.
package slabtrack_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabhttp"
)

// The objects of an order-pricing request: several struct types of
// different sizes, with pointer, string and slice fields. They are the
// application's own, as in any program that uses the library, and only as
// many as these tests need; the order-pricing model that the benchmarks and
// the example server measure is internal/workload's, which a program outside
// this module cannot import.
type (
	Customer struct {
		ID    int64
		Name  string
		Email string
	}
	Product struct {
		SKU   string
		Price int64
		Tags  []string
	}
	LineItem struct {
		Product  *Product
		Qty      int
		Subtotal int64
	}
	Discount struct {
		Code    string
		Percent int
	}
	Order struct {
		ID       int64
		Customer *Customer
		Items    []*LineItem
		Discount *Discount
		Total    int64
	}
)

// pools is an application's set of pools, one per type.
type pools struct {
	customers *slab.Pool[Customer]
	products  *slab.Pool[Product]
	items     *slab.Pool[LineItem]
	discounts *slab.Pool[Discount]
	orders    *slab.Pool[Order]
}

func newPools(opts ...slab.Option) *pools {
	return &pools{
		customers: slab.New[Customer](append(opts, slab.WithName("customers"))...),
		products:  slab.New[Product](append(opts, slab.WithName("products"))...),
		items:     slab.New[LineItem](append(opts, slab.WithName("items"))...),
		discounts: slab.New[Discount](append(opts, slab.WithName("discounts"))...),
		orders:    slab.New[Order](append(opts, slab.WithName("orders"))...),
	}
}

// live sums the live objects of every pool.
func (ps *pools) live() int64 {
	return ps.customers.Stats().Live + ps.products.Stats().Live + ps.items.Stats().Live +
		ps.discounts.Stats().Live + ps.orders.Stats().Live
}

// buildOrder allocates one order's objects in s and prices it.
func (ps *pools) buildOrder(s *slab.Scope, id int64, nItems int) *Order {
	return ps.fillOrder(s, ps.orders.AllocIn(s), id, nItems)
}

// fillOrder allocates the objects of order o in s and prices it.
func (ps *pools) fillOrder(s *slab.Scope, o *Order, id int64, nItems int) *Order {
	o.ID = id
	o.Customer = ps.customers.AllocIn(s)
	o.Customer.ID, o.Customer.Name = id, fmt.Sprintf("customer-%d", id)
	for i := range nItems {
		p := ps.products.AllocIn(s)
		p.SKU, p.Price = fmt.Sprintf("sku-%d-%d", id, i), int64(100*(i+1))
		it := ps.items.AllocIn(s)
		it.Product, it.Qty = p, i+1
		it.Subtotal = p.Price * int64(it.Qty)
		o.Items = append(o.Items, it)
		o.Total += it.Subtotal
	}
	o.Discount = ps.discounts.AllocIn(s)
	o.Discount.Code, o.Discount.Percent = "TEN", 10
	o.Total -= o.Total * int64(o.Discount.Percent) / 100
	return o
}

// wantTotal is buildOrder's total, computed without any pool.
func wantTotal(nItems int) int64 {
	var total int64
	for i := range nItems {
		total += int64(100*(i+1)) * int64(i+1)
	}
	return total - total*10/100
}

func TestSeveralPoolsAllocAndFree(t *testing.T) {
	ps := newPools()
	c := ps.customers.Alloc()
	c.Name, c.Email = "Ada", "ada@example.com"
	p := ps.products.Alloc()
	p.SKU, p.Tags = "book", []string{"paper"}
	it := ps.items.Alloc()
	it.Product, it.Qty = p, 2
	o := ps.orders.Alloc()
	o.Customer, o.Items = c, []*LineItem{it}

	assert.Equal(t, "Ada", o.Customer.Name, "objects of different pools link to each other")
	assert.Equal(t, "book", o.Items[0].Product.SKU, "objects of different pools link to each other")
	assert.Equal(t, int64(4), ps.live(), "four objects are live across the pools")

	ps.orders.Free(o)
	ps.items.Free(it)
	ps.products.Free(p)
	ps.customers.Free(c)
	assert.Zero(t, ps.live(), "every object was freed")

	again := ps.orders.Alloc()
	assert.Zero(t, *again, "a reused slot is zeroed")
	ps.orders.Free(again)
}

func TestMisuseIsReportedAsErrors(t *testing.T) {
	ps := newPools()
	o := ps.orders.Alloc()
	ps.orders.Free(o)
	other := slab.New[Order]()
	foreign := other.Alloc()
	defer other.Free(foreign)

	cases := []struct {
		name   string
		call   func()
		target error
	}{
		{"double free", func() { ps.orders.Free(o) }, slab.ErrDoubleFree},
		{"free of new(T)", func() { ps.orders.Free(new(Order)) }, slab.ErrForeign},
		{"free of another pool's object", func() { ps.orders.Free(foreign) }, slab.ErrForeign},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			func() {
				defer func() { err, _ = recover().(error) }()
				tc.call()
			}()
			require.ErrorIs(t, err, tc.target, "the panic value is an error wrapping the sentinel")
			assert.True(t, strings.HasPrefix(err.Error(), "slab: "), "the message %q starts with slab:", err)
			assert.Contains(t, err.Error(), "Order", "the message names the type")
		})
	}
	assert.NotPanics(t, func() { ps.orders.Free(ps.orders.Alloc()) }, "the pool keeps working after recovered panics")
	assert.Zero(t, ps.orders.Stats().Live, "and its counts are right")
}

func TestScopeReleasesAcrossPools(t *testing.T) {
	ps := newPools()
	s := slab.NewScope()
	for req := range 5 {
		var orders []*Order
		for i := range 10 {
			orders = append(orders, ps.buildOrder(s, int64(req*100+i), 14))
		}
		for _, o := range orders {
			require.Equal(t, wantTotal(14), o.Total, "each order is priced from its own objects")
		}
		assert.Equal(t, int64(10*(1+1+14+14+1)), ps.live(), "a request holds every object it built")
		assert.Equal(t, 10*(1+1+14+14+1), s.Len(), "the scope owns every object")
		s.Release()
		assert.Zero(t, ps.live(), "Release frees every object of every pool")
		assert.Zero(t, s.Len(), "the released scope is empty and reusable")
	}
}

func TestRefsAsMapValues(t *testing.T) {
	customers := slab.New[Customer]()
	byEmail := map[string]slab.Ref[Customer]{}
	for i := range 1000 {
		r := customers.AllocRef()
		c := customers.Deref(r)
		c.ID, c.Email = int64(i), fmt.Sprintf("c%d@example.com", i)
		byEmail[c.Email] = r
	}
	runtime.GC()
	for i := range 1000 {
		email := fmt.Sprintf("c%d@example.com", i)
		require.Equal(t, int64(i), customers.Deref(byEmail[email]).ID, "a Ref reaches its object after a GC")
	}

	gone := byEmail["c7@example.com"]
	customers.FreeRef(gone)
	var err error
	func() {
		defer func() { err, _ = recover().(error) }()
		customers.Deref(gone)
	}()
	assert.ErrorIs(t, err, slab.ErrStaleRef, "a Ref to a freed object is stale")
	delete(byEmail, "c7@example.com")
	for _, r := range byEmail {
		customers.FreeRef(r)
	}
	assert.Zero(t, customers.Stats().Live, "every customer was freed")
}

// orderHandler prices an order per request. The order comes from a pool
// that may be bounded: when it is exhausted, the handler answers 503. The
// order's parts are allocated in the request's scope.
func orderHandler(ps *pools) http.Handler {
	return slabhttp.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := slab.ScopeFrom(r.Context())
		o, err := ps.orders.TryAlloc()
		if errors.Is(err, slab.ErrExhausted) {
			http.Error(w, "busy, try again", http.StatusServiceUnavailable)
			return
		}
		defer ps.orders.Free(o)
		ps.fillOrder(s, o, 1, 3)
		if r.URL.Query().Get("panic") != "" {
			panic("handler failed")
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]int64{"total": o.Total})
	}))
}

func TestBoundedPoolTurnsExhaustionInto503(t *testing.T) {
	const bound = 3
	ps := newPools(slab.WithMaxObjects(64))
	ps.orders = slab.New[Order](slab.WithMaxObjects(bound), slab.WithName("orders"))
	h := orderHandler(ps)

	serve := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/order", nil))
		return rec
	}
	rec := serve()
	require.Equal(t, http.StatusOK, rec.Code, "a request below the bound succeeds")
	assert.JSONEq(t, fmt.Sprintf(`{"total":%d}`, wantTotal(3)), rec.Body.String(), "the response carries the priced total")

	// Requests in flight hold objects; here the test holds them directly.
	var held []*Order
	for range bound {
		o, err := ps.orders.TryAlloc()
		require.NoError(t, err, "below the bound TryAlloc succeeds")
		held = append(held, o)
	}
	rec = serve()
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "an exhausted pool answers 503, without a panic")

	ps.orders.Free(held[0])
	rec = serve()
	assert.Equal(t, http.StatusOK, rec.Code, "the server recovers once an object is freed")
	for _, o := range held[1:] {
		ps.orders.Free(o)
	}
	assert.Zero(t, ps.live(), "every request released everything it allocated")
}

func TestPanickingHandlerReleasesItsScope(t *testing.T) {
	ps := newPools()
	h := orderHandler(ps)
	assert.Panics(t, func() {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/order?panic=1", nil))
	}, "the handler's panic propagates")
	assert.Zero(t, ps.live(), "the middleware released the scope and the deferred Free ran")
}

// TestConcurrentRequests serves many requests at once over loopback, each
// building its objects in its own scope, while other goroutines share plain
// Alloc and Free across each other.
func TestConcurrentRequests(t *testing.T) {
	ps := newPools()
	srv := httptest.NewServer(orderHandler(ps))
	defer srv.Close()

	clients := 4 * runtime.GOMAXPROCS(0)
	perClient := 50
	if testing.Short() {
		perClient = 10
	}
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perClient {
				resp, err := srv.Client().Get(srv.URL + "/order")
				if !assert.NoError(t, err, "the request succeeds") {
					return
				}
				var body map[string]int64
				err = json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				assert.NoError(t, err, "the response is JSON")
				assert.Equal(t, wantTotal(3), body["total"], "every response is priced from its own objects")
			}
		}()
	}
	// Meanwhile, objects move between goroutines and are freed by the
	// receiver.
	handoff := make(chan *Product, 16)
	var movers sync.WaitGroup
	movers.Add(2)
	go func() {
		defer movers.Done()
		defer close(handoff)
		for i := range 5000 {
			p := ps.products.Alloc()
			p.SKU = fmt.Sprint(i)
			handoff <- p
		}
	}()
	go func() {
		defer movers.Done()
		i := 0
		for p := range handoff {
			assert.Equal(t, fmt.Sprint(i), p.SKU, "a handed-off object arrives intact")
			ps.products.Free(p)
			i++
		}
	}()
	wg.Wait()
	movers.Wait()
	srv.Close()
	assert.Zero(t, ps.live(), "nothing is live once every request has ended")
	st := ps.orders.Stats()
	assert.Equal(t, st.Allocs, st.Frees, "every order allocated was freed")
}

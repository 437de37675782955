package slab_test

import (
	"errors"
	"fmt"

	"github.com/slabtrack/slabtrack/slab"
)

type Order struct {
	ID    int
	Total int64
	Items []string
}

type LineItem struct {
	SKU string
	Qty int
}

// A pool hands out zeroed objects and takes them back with Free.
func Example() {
	orders := slab.New[Order](slab.WithName("orders"))

	o := orders.Alloc()
	o.ID, o.Total = 1, 4200
	fmt.Println(o.ID, o.Total)
	orders.Free(o) // o must not be used after this

	o2 := orders.Alloc()
	fmt.Println(o2.ID, o2.Total, o2.Items == nil) // always zeroed
	orders.Free(o2)
	// Output:
	// 1 4200
	// 0 0 true
}

// A bounded pool refuses to grow past its bound: TryAlloc returns an error
// wrapping ErrExhausted, which a server turns into a 503.
func ExamplePool_TryAlloc() {
	orders := slab.New[Order](slab.WithMaxObjects(2))

	a, _ := orders.TryAlloc()
	b, _ := orders.TryAlloc()
	_, err := orders.TryAlloc()
	fmt.Println(errors.Is(err, slab.ErrExhausted))

	orders.Free(a)
	c, err := orders.TryAlloc()
	fmt.Println(err)

	orders.Free(b)
	orders.Free(c)
	// Output:
	// true
	// <nil>
}

// Free panics on a pointer that is already free; the panic value is an error
// wrapping ErrDoubleFree, whose message names the type, the pool and the slot:
// slab: double free of *main.Order (pool "orders", slot 0).
//
//slabvet:ignore useafterfree the example frees twice to show the panic
func ExamplePool_Free() {
	orders := slab.New[Order](slab.WithName("orders"))
	o := orders.Alloc()
	orders.Free(o)

	defer func() {
		err := recover().(error)
		fmt.Println(errors.Is(err, slab.ErrDoubleFree))
	}()
	orders.Free(o)
	// Output:
	// true
}

// A Ref is a pointer-free handle: 8 bytes that can sit in maps. Once its
// object is freed, every use of the Ref panics with ErrStaleRef.
func ExampleRef() {
	orders := slab.New[Order]()
	byID := map[int]slab.Ref[Order]{}

	r := orders.AllocRef()
	orders.Deref(r).ID = 7
	byID[7] = r

	fmt.Println(orders.Deref(byID[7]).ID)
	orders.FreeRef(byID[7])

	defer func() {
		fmt.Println(errors.Is(recover().(error), slab.ErrStaleRef))
	}()
	orders.Deref(byID[7])
	// Output:
	// 7
	// true
}

// A Scope owns the objects of one request, from any number of pools, and
// frees them all with one Release.
func ExampleScope() {
	orders := slab.New[Order]()
	items := slab.New[LineItem]()

	s := slab.NewScope()
	o := orders.AllocIn(s)
	o.ID = 1
	for i := range 3 {
		it := items.AllocIn(s)
		it.SKU, it.Qty = fmt.Sprintf("sku-%d", i), i+1
	}
	fmt.Println(s.Len(), orders.Stats().Live, items.Stats().Live)

	s.Release()
	fmt.Println(s.Len(), orders.Stats().Live, items.Stats().Live)
	// Output:
	// 4 1 3
	// 0 0 0
}

// Stats reports what a pool holds, for metrics.
func ExamplePool_Stats() {
	orders := slab.New[Order](slab.WithName("orders"))
	var held []*Order
	for range 10 {
		held = append(held, orders.Alloc())
	}
	for _, o := range held[:4] {
		orders.Free(o)
	}

	st := orders.Stats()
	fmt.Printf("%s %s live=%d allocs=%d frees=%d slabs=%d\n",
		st.Name, st.Type, st.Live, st.Allocs, st.Frees, st.Slabs)

	for _, o := range held[4:] {
		orders.Free(o)
	}
	orders.Trim()
	st = orders.Stats()
	fmt.Printf("live=%d slabs=%d released=%d\n", st.Live, st.Slabs, st.Trimmed)
	// Output:
	// orders *slab_test.Order live=6 allocs=10 frees=4 slabs=1
	// live=0 slabs=0 released=1
}

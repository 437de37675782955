package pool

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/slabtrack/slabtrack/slab"
)

// case lostfree: an early return on error skips the Free.
func lostEarlyReturn() error {
	o := orders.Alloc()
	if err := validate(o); err != nil {
		return err // want "lostfree: this return statement may be reached without freeing o"
	}
	orders.Free(o)
	return nil
}

// case lostfree: the object is never freed.
func lostNeverFreed() int {
	o := orders.Alloc()
	o.ID = 1
	return o.ID // want "lostfree: this return statement may be reached without freeing o"
}

// case lostfree: freed on one branch only; the function ends without a return statement.
func lostOneBranch(cond bool) {
	o := orders.Alloc()
	fill(o, 2)
	if cond {
		orders.Free(o)
	}
} // want "lostfree: the function may end without freeing o"

// case lostfree: TryAlloc's error path is fine, a later early return is not.
func lostTryAlloc() error {
	o, err := orders.TryAlloc()
	if err != nil {
		return err
	}
	if o.Total > 10 {
		return errBad // want "lostfree: this return statement may be reached without freeing o"
	}
	orders.Free(o)
	return nil
}

// case lostfree: a Ref that an early return loses.
func lostRef(bad bool) {
	r := orders.AllocRef()
	orders.Deref(r).ID = 3
	if bad {
		return // want "lostfree: this return statement may be reached without freeing r"
	}
	orders.FreeRef(r)
}

// case lostfree: continue skips the Free of this iteration's object.
func lostContinue(n int) {
	for i := range n {
		o := orders.Alloc()
		if i%2 == 0 {
			continue
		}
		orders.Free(o)
	}
} // want "lostfree: the function may end without freeing o"

// case lostfree: the result of Alloc is dropped.
func lostDropped() {
	orders.Alloc() // want "lostfree: the object from Alloc is dropped without Free"
	fmt.Println("allocated")
}

// case lostfree: one case of a switch forgets the Free.
func lostSwitch(kind int) error {
	o := orders.Alloc()
	switch kind {
	case 0:
		orders.Free(o)
	case 1:
		return errBad // want "lostfree: this return statement may be reached without freeing o"
	default:
		orders.Free(o)
	}
	return nil
}

// case lostfree: a helper that only reads the object does not take it over.
func lostAfterBorrow() error {
	o := orders.Alloc()
	fill(o, 1)
	if o.ID == 0 {
		return nil // want "lostfree: this return statement may be reached without freeing o"
	}
	release(o)
	return nil
}

// case lostfree: a cancelled context returns before the Free.
func lostSelect(ctx context.Context, ch chan int) error {
	o := orders.Alloc()
	select {
	case <-ctx.Done():
		return ctx.Err() // want "lostfree: this return statement may be reached without freeing o"
	case ch <- o.ID:
	}
	orders.Free(o)
	return nil
}

// case lostfree: a function literal with an early return.
func lostInClosure(bad bool) func() error {
	return func() error {
		o := orders.Alloc()
		if bad {
			return errBad // want "lostfree: this return statement may be reached without freeing o"
		}
		orders.Free(o)
		return nil
	}
}

// case lostfree: a bare return with named results.
func lostNamedResult() (err error) {
	o := orders.Alloc()
	if err = validate(o); err != nil {
		return // want "lostfree: this return statement may be reached without freeing o"
	}
	orders.Free(o)
	return
}

// case lostfree: the deferred Free is registered on one branch only.
func lostDeferInBranch(cond bool) {
	o := orders.Alloc()
	if cond {
		defer orders.Free(o)
	}
	o.ID = 4
} // want "lostfree: the function may end without freeing o"

// case lostfree: of two objects, one is freed.
func lostSecondObject() {
	a := orders.Alloc()
	b := orders.Alloc()
	defer orders.Free(a)
	a.Next = nil
	b.ID = 5
} // want "lostfree: the function may end without freeing b"

// case lostfree: an object of another pool, lost in a loop that breaks out.
func lostBreak(prices []int) int {
	total := 0
	for _, p := range prices {
		it := items.Alloc()
		it.Price = p
		if p < 0 {
			break
		}
		total += it.Price
		items.Free(it)
	}
	return total // want "lostfree: this return statement may be reached without freeing it"
}

// case lostfree: printed, then leaked.
func lostThroughFmt() {
	o := orders.Alloc()
	fmt.Println(o)
} // want "lostfree: the function may end without freeing o"

// case lostfree: put in a local slice that is then dropped (known miss: a container ends the trace).
func lostInLocalSlice() int {
	o := orders.Alloc()
	tmp := []*Order{o}
	return len(tmp)
}

// case lostfree: a helper that frees on some paths only (known miss: a possible free ends the path).
func lostMaybeClose() {
	o := orders.Alloc()
	maybeClose(o, false)
}

// case ok: deferred Free.
func okDefer() error {
	o := orders.Alloc()
	defer orders.Free(o)
	return validate(o)
}

// case ok: freed on both branches.
func okBothBranches(cond bool) {
	o := orders.Alloc()
	if cond {
		orders.Free(o)
		return
	}
	o.ID = 1
	orders.Free(o)
}

// case ok: the object is returned to the caller.
func okReturned() *Order {
	o := orders.Alloc()
	o.ID = 1
	return o
}

// case ok: TryAlloc's object is nil when it fails.
func okTryAllocErr() error {
	o, err := orders.TryAlloc()
	if err != nil {
		return err
	}
	defer orders.Free(o)
	return validate(o)
}

// case ok: a nil object needs no Free.
func okNilCheck() {
	o, _ := orders.TryAlloc()
	if o == nil {
		return
	}
	orders.Free(o)
}

// case ok: errors.Is on TryAlloc's error.
func okErrorsIs() int {
	o, err := orders.TryAlloc()
	if errors.Is(err, slab.ErrExhausted) {
		return 503
	}
	defer orders.Free(o)
	return 200
}

// case ok: stored in a field of the receiver.
func (c *Cache) okStoreField() {
	o := orders.Alloc()
	c.last = o
}

// case ok: stored in a package-level map.
func okStoreGlobal() {
	registry[1] = orders.Alloc()
}

// case ok: handed to a helper that keeps it.
func okRetainingHelper() {
	o := orders.Alloc()
	remember(o)
}

// case ok: sent on a channel to another owner.
func okSent(ch chan<- *Order) {
	o := orders.Alloc()
	ch <- o
}

// case ok: freed by a helper.
func okFreedByHelper() {
	o := orders.Alloc()
	fill(o, 1)
	release(o)
}

// case ok: freed by a method.
func okFreedByMethod() {
	o := orders.Alloc()
	o.Close()
}

// case ok: freed by a deferred closure.
func okDeferredClosure() error {
	o := orders.Alloc()
	defer func() { orders.Free(o) }()
	return validate(o)
}

// case ok: a panic is not a leak to report.
func okPanicPath(bad bool) {
	o := orders.Alloc()
	if bad {
		panic("bad order")
	}
	orders.Free(o)
}

// case ok: one object per iteration, freed in each.
func okLoop(n int) {
	for i := range n {
		o := orders.Alloc()
		fill(o, i)
		orders.Free(o)
	}
}

// case ok: collected in a slice, all freed later.
func okCollectThenFree(n int) {
	var list []*Order
	for range n {
		list = append(list, orders.Alloc())
	}
	for _, o := range list {
		orders.Free(o)
	}
}

// case ok: a pool made here and dropped with its objects.
func okLocalPool() int {
	p := slab.New[Order]()
	x := p.Alloc()
	x.ID = 1
	return x.ID
}

// case ok: a goroutine takes the object over and frees it.
func okGoroutineOwns() {
	o := orders.Alloc()
	go func() {
		defer orders.Free(o)
		fill(o, 1)
	}()
}

// case ok: returned inside a struct.
func okReturnedInStruct() *Wrapper {
	o := orders.Alloc()
	return &Wrapper{o: o}
}

// case ok: a failed test may leave its objects behind.
func okFailedTest(t *testing.T) {
	o := orders.Alloc()
	if o.ID != 0 {
		t.Errorf("Alloc returned a dirty object")
		return
	}
	orders.Free(o)
}

// case ok: a Ref freed with a deferred FreeRef.
func okRefDeferred() int {
	r := orders.AllocRef()
	defer orders.FreeRef(r)
	return orders.Deref(r).ID
}

// case ok: Refs kept in a map.
func okRefStored(refs map[int]slab.Ref[Order]) {
	refs[1] = orders.AllocRef()
}

// case ok: a helper that frees unless nil.
func okCloseIfSet() {
	o := orders.Alloc()
	closeIfSet(o)
}

// case ok: a deliberate leak, silenced with a comment.
func okIgnored() {
	o := orders.Alloc() //slabvet:ignore lostfree the demo leaks on purpose
	o.ID = 9
}

// case lostfree: an ignore comment for another check leaves lostfree on.
func lostIgnoreOther() {
	o := orders.Alloc() //slabvet:ignore useafterfree not the check that reports here
	o.ID = 10
} // want "lostfree: the function may end without freeing o"

// case ok: a function whose doc silences lostfree.
//
//slabvet:ignore lostfree the objects belong to a pool that is dropped with the test
func okIgnoredFunction() {
	o := orders.Alloc()
	o.ID = 11
}

// newOrder hands its caller a new order to free.
func newOrder(id int) *Order {
	o := orders.Alloc()
	o.ID = id
	return o
}

// newValidOrder hands its caller a valid order, or an error and nil.
func newValidOrder(id int) (*Order, error) {
	o := orders.Alloc()
	o.ID = id
	if err := validate(o); err != nil {
		orders.Free(o)
		return nil, err
	}
	return o, nil
}

// cached returns the cache's order, which the cache keeps.
func (c *Cache) cached() *Order {
	if c.last != nil {
		return c.last
	}
	o := orders.Alloc()
	c.last = o
	return o
}

// case lostfree: a constructor's object lost on an early return.
func lostConstructor(bad bool) {
	o := newOrder(1)
	if bad {
		return // want "lostfree: this return statement may be reached without freeing o"
	}
	release(o)
}

// case lostfree: a constructor's object dropped.
func lostConstructorDropped() {
	newOrder(2) // want "lostfree: the object from newOrder is dropped without Free"
}

// case ok: a constructor's object freed, its error path returning nil.
func okConstructorErr() error {
	o, err := newValidOrder(3)
	if err != nil {
		return err
	}
	defer orders.Free(o)
	o.Total = 4
	return nil
}

// case ok: an object the cache keeps is not the caller's to free.
func okCached(c *Cache) int {
	return c.cached().ID
}

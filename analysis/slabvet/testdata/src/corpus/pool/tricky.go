package pool

import (
	"net/http"
	"testing"

	"github.com/slabtrack/slabtrack/slab"
)

// case useafterfree: the loop's post statement reads the object it just freed.
func trickyFreeListWrong(head *Order) {
	for o := head; o != nil; o = o.Next { // want "useafterfree: o is used after it was freed on line"
		orders.Free(o)
	}
}

// case ok: the next pointer is read before the Free.
func trickyFreeListRight(head *Order) {
	var next *Order
	for o := head; o != nil; o = next {
		next = o.Next
		orders.Free(o)
	}
}

// case lostfree: a cleanup closure that an early return never calls.
func trickyCleanupSkipped(bad bool) error {
	o := orders.Alloc()
	cleanup := func() { orders.Free(o) }
	if bad {
		return errBad // want "lostfree: this return statement may be reached without freeing o"
	}
	cleanup()
	return nil
}

// case ok: a deferred cleanup closure frees it.
func trickyCleanupDeferred(bad bool) error {
	o := orders.Alloc()
	cleanup := func() { orders.Free(o) }
	defer cleanup()
	if bad {
		return errBad
	}
	return nil
}

type builder struct{ list []*Order }

func (b *builder) add(o *Order) { b.list = append(b.list, o) }

// case ok: handed to a method that keeps it in the receiver.
func trickyBuilder(b *builder) {
	o := orders.Alloc()
	b.add(o)
}

// case ok: freed by a test cleanup.
func trickyTestCleanup(t *testing.T) {
	o := orders.Alloc()
	t.Cleanup(func() { orders.Free(o) })
	o.ID = 1
}

// case ok: a helper closure inside a handler collects the request's objects.
func trickyHandlerHelper(w http.ResponseWriter, r *http.Request) {
	s := slab.ScopeFrom(r.Context())
	var acc []*Order
	add := func(o *Order) { acc = append(acc, o) }
	add(orders.AllocIn(s))
	add(orders.AllocIn(s))
	if len(acc) != 2 {
		w.WriteHeader(http.StatusInternalServerError)
	}
}

// case ok: two tests of the same flag, one frees and the other uses.
func trickyCorrelated(debug bool) int {
	o := orders.Alloc()
	if !debug {
		orders.Free(o)
	}
	if debug {
		id := o.ID
		orders.Free(o)
		return id
	}
	return 0
}

// case ok: the object is freed through the Ref that RefOf made.
func trickyRefOf() {
	o := orders.Alloc()
	r := orders.RefOf(o)
	orders.FreeRef(r)
}

// case useafterfree: freed through a Ref, then used through the pointer (known miss: a Ref and its pointer are followed one way only).
func trickyRefThenPointer() int {
	o := orders.Alloc()
	r := orders.RefOf(o)
	orders.FreeRef(r)
	return o.ID
}

// case ok: a scoped object released on an error path, returned on the other.
func trickyReleaseOnError(bad bool) (*Order, *slab.Scope) {
	s := slab.NewScope()
	o := orders.AllocIn(s)
	if bad {
		s.Release()
		return nil, nil
	}
	return o, s
}

package pool

import (
	"unsafe"

	"github.com/slabtrack/slabtrack/slab"
)

// case useafterfree: a field read after Free.
func uafRead() int {
	o := orders.Alloc()
	orders.Free(o)
	return o.ID // want "useafterfree: o is used after it was freed on line"
}

// case useafterfree: a field write after Free.
func uafWrite(o *Order) {
	orders.Free(o)
	o.Total = 0 // want "useafterfree: o is used after it was freed on line"
}

// case useafterfree: a method call after Free.
func uafMethod() string {
	o := orders.Alloc()
	o.Name = "x"
	orders.Free(o)
	return o.Describe() // want "useafterfree: o is used after it was freed on line"
}

// case useafterfree: passed to a function after Free.
func uafPass() error {
	o := orders.Alloc()
	orders.Free(o)
	return validate(o) // want "useafterfree: o is used after it was freed on line"
}

// case useafterfree: freed twice.
func uafDouble() {
	o := orders.Alloc()
	orders.Free(o)
	orders.Free(o) // want "useafterfree: o is freed twice"
}

// case useafterfree: freed by a helper, then freed again.
func uafHelperThenFree() {
	o := orders.Alloc()
	release(o)
	orders.Free(o) // want "useafterfree: o is freed twice"
}

// case useafterfree: a method that frees its receiver, then a write.
func uafAfterClose() {
	o := orders.Alloc()
	o.Close()
	o.ID = 1 // want "useafterfree: o is used after it was freed on line"
}

// case useafterfree: a deferred Free and an explicit one.
func uafDeferAndExplicit(bad bool) error {
	o := orders.Alloc()
	defer orders.Free(o)
	if bad {
		orders.Free(o) // want "useafterfree: o is freed here and again by the deferred call"
		return errBad
	}
	return nil
}

// case useafterfree: a Free in every iteration of a loop.
func uafLoop(o *Order, n int) {
	for range n {
		o.ID++
		orders.Free(o) // want "useafterfree: o is freed in every iteration of the loop"
	}
}

// case useafterfree: FreeRef twice.
func uafRefDouble() {
	r := orders.AllocRef()
	orders.FreeRef(r)
	orders.FreeRef(r) // want "useafterfree: r is freed twice"
}

// case useafterfree: Get of a freed Ref panics with ErrStaleRef.
func uafRefGet() int {
	r := orders.AllocRef()
	orders.FreeRef(r)
	return orders.Deref(r).ID // want "useafterfree: r is used after it was freed on line"
}

// case useafterfree: a scoped object used after Release.
func uafAfterRelease() {
	s := slab.NewScope()
	o := orders.AllocIn(s)
	s.Release()
	o.ID = 1 // want "useafterfree: o is used after its scope was released on line"
}

// case useafterfree: a use after Free through a copy of the pointer.
func uafAlias() int {
	o := orders.Alloc()
	p := o
	orders.Free(o)
	return p.Total // want "useafterfree: o is used after it was freed on line"
}

// case useafterfree: freed through its Ref, used through its pointer.
func uafRefOfPointer() {
	o := orders.Alloc()
	r := orders.RefOf(o)
	orders.FreeRef(r)
	orders.Deref(r).ID = 2 // want "useafterfree: r is used after it was freed on line"
}

// case useafterfree: a closure called after Free uses the object.
func uafInClosure() {
	o := orders.Alloc()
	orders.Free(o)
	func() { o.ID = 1 }() // want "useafterfree: o is used by the function literal called on line 119, after it was freed on line 118"
}

// case useafterfree: freed on one branch, used after the branches meet (known miss: not every path frees).
func uafOneBranch(cond bool) int {
	o := orders.Alloc()
	if cond {
		orders.Free(o)
	}
	id := o.ID
	if !cond {
		orders.Free(o)
	}
	return id
}

// case useafterfree: freed through an interface method (known miss: interface calls are not followed).
func uafInterface() {
	o := orders.Alloc()
	var c Closer = o
	c.Close()
	o.ID = 1
}

// case ok: used before Free.
func okUseThenFree() int {
	o := orders.Alloc()
	id := o.ID
	orders.Free(o)
	return id
}

// case ok: the variable holds a new object after Free.
func okReassigned() {
	o := orders.Alloc()
	orders.Free(o)
	o = orders.Alloc()
	o.ID = 1
	orders.Free(o)
}

// case ok: set to nil after Free.
func okNilAfterFree() bool {
	o := orders.Alloc()
	orders.Free(o)
	o = nil
	return o == nil
}

// case ok: freed on a branch that returns.
func okFreeAndReturn(bad bool) {
	o := orders.Alloc()
	if bad {
		orders.Free(o)
		return
	}
	o.ID = 1
	orders.Free(o)
}

// case ok: a new object in each iteration.
func okLoopNew(n int) {
	for range n {
		o := orders.Alloc()
		o.ID = n
		orders.Free(o)
	}
}

// case ok: IsZero on a freed Ref does not touch the pool.
func okRefIsZero() bool {
	r := orders.AllocRef()
	orders.FreeRef(r)
	return r.IsZero()
}

// case ok: a freed pointer as a map key.
func okDeleteKey(live map[*Order]bool) {
	o := orders.Alloc()
	live[o] = true
	orders.Free(o)
	delete(live, o)
}

// case ok: a freed pointer compared, not dereferenced.
func okCompare(last *Order) bool {
	o := orders.Alloc()
	orders.Free(o)
	return o == last
}

// case ok: the loop frees once and leaves.
func okLoopBreak() {
	o := orders.Alloc()
	for {
		orders.Free(o)
		break
	}
}

// case ok: used before the deferred Free runs.
func okDeferredUse() int {
	o := orders.Alloc()
	defer orders.Free(o)
	o.ID = 7
	return o.ID
}

// case ok: a scope reused after Release.
func okScopeReuse(s *slab.Scope) int {
	s.Release()
	o := orders.AllocIn(s)
	o.ID = 1
	return o.ID
}

// case ok: every element freed, the slice reused.
func okFreeElements(list []*Order) []*Order {
	for _, o := range list {
		orders.Free(o)
	}
	return list[:0]
}

// case ok: a helper that frees only sometimes.
func okMaybeClose(ok bool) int {
	o := orders.Alloc()
	maybeClose(o, ok)
	if ok {
		return 0
	}
	defer orders.Free(o)
	return o.ID
}

// case ok: an address kept as an integer and compared after Release reaches
// no memory.
func okAddrAfterRelease() bool {
	s := slab.NewScope()
	xs := slab.MakeSliceIn[int](s, 4, 4)
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(xs)))
	s.Release()
	ys := slab.MakeSliceIn[int](s, 4, 4)
	return addr == uintptr(unsafe.Pointer(unsafe.SliceData(ys)))
}

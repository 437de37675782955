package pool

import (
	"fmt"
	"sync"
	"time"

	"github.com/slabtrack/slabtrack/slab"
)

// case ok: freed on the error path, returned on the other.
func advTake() (*Order, error) {
	o := orders.Alloc()
	if err := validate(o); err != nil {
		orders.Free(o)
		return nil, err
	}
	return o, nil
}

// case ok: freed through a type switch on an interface holding it.
func advTypeSwitch() {
	o := orders.Alloc()
	var v any = o
	switch x := v.(type) {
	case *Order:
		orders.Free(x)
	}
}

type handle struct{ o *Order }

func (h handle) close() { orders.Free(h.o) }

// case ok: freed through a small handle struct.
func advHandle() {
	h := handle{o: orders.Alloc()}
	defer h.close()
	h.o.ID = 1
}

// case ok: elements freed by index and cleared.
func advFreeByIndex(list []*Order) {
	for i := range list {
		orders.Free(list[i])
		list[i] = nil
	}
}

// case ok: the address of a freed object logged (no access to its memory).
func advLogAddress() {
	o := orders.Alloc()
	orders.Free(o)
	fmt.Printf("freed %p\n", o)
}

// case ok: handed over, or freed when no one takes it.
func advSendOrFree(ch chan *Order) {
	o := orders.Alloc()
	select {
	case ch <- o:
	default:
		orders.Free(o)
	}
}

// case ok: collected and returned.
func advCollect(n int) []*Order {
	var list []*Order
	for range n {
		x := orders.Alloc()
		list = append(list, x)
		if len(list) > 10 {
			return list
		}
	}
	return list
}

// case ok: a goroutine whose result the handler waits for.
func advGoReceive(s *slab.Scope) int {
	o := orders.AllocIn(s)
	done := make(chan int)
	go func() { done <- o.ID }()
	return <-done
}

// case scopeescape: the function waits for its goroutine on one path only.
func advGoWaitOnePath(s *slab.Scope, wait bool) {
	o := orders.AllocIn(s)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // want "scopeescape: o is allocated in a scope and escapes it: captured by a go statement"
		defer wg.Done()
		fill(o, 1)
	}()
	if wait {
		wg.Wait()
	}
}

var lastCopy *Order

// case ok: a copy of the object's value kept, not the object.
func advCopyKept(s *slab.Scope) {
	o := orders.AllocIn(s)
	saved := *o
	lastCopy = &saved
}

// case scopeescape: a timer runs a closure with the object after the request.
func advAfterFunc(s *slab.Scope) {
	o := orders.AllocIn(s)
	time.AfterFunc(time.Second, func() { fill(o, 2) }) // want "scopeescape: o is allocated in a scope and escapes it: passed to AfterFunc, where it is run later by time.AfterFunc"
}

// case useafterfree: freed by a helper, then by a method.
func advHelperThenMethod() {
	o := orders.Alloc()
	release(o)
	o.Close() // want "useafterfree: o is freed twice"
}

// case lostfree: freed only when a panic is recovered (known miss: a possible free ends the path).
func advFreeOnPanicOnly() error {
	o := orders.Alloc()
	defer func() {
		if recover() != nil {
			orders.Free(o)
		}
	}()
	return validate(o)
}

// case lostfree: a retry loop allocates again without freeing the failed attempt.
func advRetry(attempts int) *Order {
	for range attempts {
		o := orders.Alloc()
		if validate(o) == nil {
			return o
		}
	}
	return nil // want "lostfree: this return statement may be reached without freeing o"
}

// case ok: the retry loop frees each failed attempt.
func advRetryRight(attempts int) *Order {
	for range attempts {
		o := orders.Alloc()
		if validate(o) == nil {
			return o
		}
		orders.Free(o)
	}
	return nil
}

package fix

import (
	"errors"

	"github.com/slabtrack/slabtrack/slab"
)

type Order struct{ ID int }

var orders = slab.New[Order]()

func validate(o *Order) error {
	if o.ID < 0 {
		return errors.New("bad")
	}
	return nil
}

func neverFreed() int {
	o := orders.Alloc()
	o.ID = 1
	return o.ID // want "this return statement may be reached without freeing o"
}

func earlyReturn() error {
	o := orders.Alloc()
	if err := validate(o); err != nil {
		return err // want "this return statement may be reached without freeing o"
	}
	orders.Free(o)
	return nil
}

func refNeverFreed() {
	r := orders.AllocRef()
	orders.Deref(r).ID = 2
} // want "the function may end without freeing r"

func inLoop(n int) {
	for range n {
		o := orders.Alloc()
		o.ID = n
	}
} // want "the function may end without freeing o"

func keptOnOnePath(keep bool, dst *[]*Order) error {
	o := orders.Alloc()
	if keep {
		*dst = append(*dst, o)
		return nil
	}
	return nil // want "this return statement may be reached without freeing o"
}

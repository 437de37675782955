// Package pool is the labelled corpus of slabvet cases within one package.
//
// Every function whose doc comment starts with "case KIND:" is one case:
// KIND is the check that should report it (lostfree, useafterfree,
// scopeescape, scopecopy) or "ok" for correct code that no check should
// report. An expectation comment marks each diagnostic the checks produce
// today; a buggy case without one is a known miss.
package pool

import (
	"errors"

	"github.com/slabtrack/slabtrack/slab"
)

type Order struct {
	ID    int
	Total int
	Items []*Item
	Next  *Order
	Name  string
}

type Item struct{ Price int }

var (
	orders = slab.New[Order]()
	items  = slab.New[Item]()
	errBad = errors.New("bad order")
)

// validate only reads o.
func validate(o *Order) error {
	if o.Total < 0 {
		return errBad
	}
	return nil
}

// fill only writes o.
func fill(o *Order, id int) { o.ID = id }

var registry = map[int]*Order{}

// remember keeps o in a package-level map.
func remember(o *Order) { registry[o.ID] = o }

type Cache struct{ last *Order }

// Put keeps o in c, whose lifetime is the caller's business.
func (c *Cache) Put(o *Order) { c.last = o }

// release frees o.
func release(o *Order) { orders.Free(o) }

// Close frees its receiver.
func (o *Order) Close() { orders.Free(o) }

// Describe reads its receiver.
func (o *Order) Describe() string { return o.Name }

// closeIfSet frees o unless it is nil.
func closeIfSet(o *Order) {
	if o == nil {
		return
	}
	orders.Free(o)
}

// maybeClose frees o on one path only.
func maybeClose(o *Order, ok bool) {
	if ok {
		orders.Free(o)
	}
}

type Wrapper struct{ o *Order }

type Closer interface{ Close() }

package main

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabhttp"
)

// An Allocator hands out the zeroed objects of type T that one request
// builds, and takes them all back when the request ends. Each value of -alloc
// is one implementation; the handler sees nothing else of the strategy.
type Allocator[T any] interface {
	// New returns a zeroed *T, valid until Release.
	New() *T
	// Release gives back every object New returned since the last Release.
	Release()
}

// Objects is what one request allocates with: an Allocator per struct type
// of the model, plus the request's reusable buffers (the decode target and
// the response), which every strategy recycles alike.
type Objects struct {
	Orders    Allocator[Order]
	Lines     Allocator[LineItem]
	Products  Allocator[Product]
	Customers Allocator[Customer]
	Addresses Allocator[Address]
	Discounts Allocator[Discount]
	Taxes     Allocator[TaxLine]
	Shipments Allocator[Shipment]
	Payments  Allocator[Payment]
	Events    Allocator[AuditEvent]

	req   PriceRequest
	body  []byte   // the request body, for the schema reader
	strs  []string // backs the request's []string values, for the schema reader
	out   []byte
	scope scopeBinding
}

// release gives back every object of the request, in every allocator.
func (o *Objects) release() {
	o.Orders.Release()
	o.Lines.Release()
	o.Products.Release()
	o.Customers.Release()
	o.Addresses.Release()
	o.Discounts.Release()
	o.Taxes.Release()
	o.Shipments.Release()
	o.Payments.Release()
	o.Events.Release()
}

// A Strategy is one value of -alloc: how the handler obtains and gives back
// the objects of a request.
//
// Strategies are safe for concurrent use; the Objects of one request belong
// to the goroutine serving it.
type Strategy struct {
	name string
	// wrap adds the per-request setup the strategy needs around the
	// handler: slabhttp.Middleware for scope, nothing for the others.
	wrap func(http.Handler) http.Handler
	// live counts the objects taken and not yet given back (see Live).
	live func() int64
	// recycled holds idle Objects, each with its allocators.
	recycled sync.Pool
	// pools are the slab pools behind scope and pool; nil for the others.
	pools *slabPools
	// scoped is set for scope: each request allocates in the scope that
	// slabhttp.Middleware put in its context.
	scoped bool
}

// strategyNames lists the values of -alloc, in the order -compare runs them.
var strategyNames = []string{"heap", "chan", "syncpool", "pool", "scope"}

// newStrategy returns the strategy called name, with pools of its own.
func newStrategy(name string) (*Strategy, error) {
	s := &Strategy{name: name, wrap: func(h http.Handler) http.Handler { return h }, live: func() int64 { return 0 }}
	var newObjects func() *Objects
	switch name {
	case "heap":
		newObjects = heapObjects
	case "syncpool":
		newObjects = newSyncPools().objects
	case "chan":
		newObjects = newChanPools(chanPoolSize).objects
	case "pool":
		ps := newSlabPools(name)
		newObjects = ps.poolObjects
		s.live = ps.live
		s.pools = ps
	case "scope":
		ps := newSlabPools(name)
		newObjects = ps.scopeObjects
		s.live = ps.live
		s.pools = ps
		s.wrap = slabhttp.Middleware
		s.scoped = true
	default:
		return nil, fmt.Errorf("unknown -alloc %q: want one of %s", name, strings.Join(strategyNames, ", "))
	}
	s.recycled.New = func() any { return newObjects() }
	return s, nil
}

// Name returns the strategy's -alloc value.
func (s *Strategy) Name() string { return s.name }

// Live returns the number of objects taken by requests and not yet given
// back: Stats().Live summed over the slab pools for scope and pool. Between
// requests it returns to its earlier value unless a request leaked. It is
// always 0 for heap, syncpool and chan, whose objects the GC reclaims
// whether or not they are given back: nothing can leak there.
func (s *Strategy) Live() int64 { return s.live() }

// errNoScope is the panic of a scope strategy handler that runs without
// slabhttp.Middleware around it.
var errNoScope = errors.New("httpserver: the scope strategy needs slabhttp.Middleware around the handler")

// begin returns the Objects for the request r.
func (s *Strategy) begin(r *http.Request) *Objects {
	o := s.recycled.Get().(*Objects)
	if s.scoped {
		o.scope.s = slab.ScopeFrom(r.Context())
		if o.scope.s == nil {
			panic(errNoScope)
		}
	}
	return o
}

// end gives back everything the request allocated and recycles o. For
// scope, the middleware's Release frees the objects once the handler has
// returned.
func (s *Strategy) end(o *Objects) {
	o.release()
	o.scope.s = nil
	o.req.reset()
	o.out = o.out[:0]
	clear(o.strs)
	o.strs = o.strs[:0]
	s.recycled.Put(o)
}

package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabhttp"
)

// An Allocator hands out the zeroed (or Reset) objects of type T that one
// request builds, and takes them all back when the request ends. Each value
// of -alloc is one implementation (allocators.go); the pricing code sees
// nothing else of the strategy, besides appendTo, growTo and newString.
type Allocator[T any] interface {
	// New returns a *T as its zero value or its Reset method leaves it,
	// valid until Release.
	New() *T
	// Release gives back every object New returned since the last Release.
	Release()
}

// Objects is what one request allocates with: an Allocator per struct type
// of the model, the request's scope for the scope strategy, and buffers
// that every strategy recycles alike (a scratch buffer for the strings it
// builds, the response and its encoder).
type Objects struct {
	Requests  Allocator[PriceRequest]
	Orders    Allocator[workload.Order]
	Customers Allocator[workload.Customer]
	Addresses Allocator[workload.Address]
	Lines     Allocator[workload.LineItem]
	Products  Allocator[workload.Product]
	Discounts Allocator[workload.Discount]
	Taxes     Allocator[workload.TaxLine]
	Shipments Allocator[workload.Shipment]
	Payments  Allocator[workload.Payment]
	Events    Allocator[workload.AuditEvent]

	// scope is the request's scope (scope strategy only, else nil): slices
	// grow and strings are made in it.
	scope   *slab.Scope
	scratch []byte
	body    []byte // the request body, for syncpool-v2, which decodes it whole
	out     bytes.Buffer
}

// release gives back every object of the request, in every allocator.
func (o *Objects) release() {
	o.Requests.Release()
	o.Orders.Release()
	o.Customers.Release()
	o.Addresses.Release()
	o.Lines.Release()
	o.Products.Release()
	o.Discounts.Release()
	o.Taxes.Release()
	o.Shipments.Release()
	o.Payments.Release()
	o.Events.Release()
}

// appendTo appends x to dst, as append does: in the request's scope for the
// scope strategy, on the heap for the others, whose pooled objects keep
// their slices' capacity from one request to the next (the Reset methods)
// so that append rarely grows them.
func appendTo[T any](o *Objects, dst []T, x T) []T {
	if o.scope != nil {
		return slab.AppendIn(o.scope, dst, x)
	}
	return append(dst, x)
}

// growTo returns dst emptied, with room for n elements.
func growTo[T any](o *Objects, dst []T, n int) []T {
	if o.scope != nil {
		return slab.MakeSliceIn[T](o.scope, 0, n)
	}
	return slices.Grow(dst[:0], n)
}

// newString returns a string holding b: in the request's scope for the
// scope strategy, on the heap for the others.
func newString(o *Objects, b []byte) string {
	if o.scope != nil {
		return slab.StringIn(o.scope, b)
	}
	return string(b)
}

// A Strategy is one value of -alloc: how the handler obtains and gives back
// the objects of a request, and how it decodes the request and encodes the
// response.
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
	// scoped is set for scope: each request allocates in the scope that
	// slabhttp.Middleware put in its context.
	scoped bool
	// scopedJSON is set for scope with -json=auto: the request is read and
	// decoded into the scope with json v2. Otherwise encoding/json decodes
	// it. Every strategy encodes the response with encoding/json
	// (encode.go).
	scopedJSON bool
	// v2JSON is set for syncpool-v2 with -json=auto: the request is read
	// into a recycled buffer and decoded into the pooled objects with json
	// v2, the JSON library of scope, without hooks.
	v2JSON bool
}

// The values of -json.
const (
	// jsonAuto decodes and encodes as each strategy's users do: json v2
	// into the scope for scope, encoding/json for the others.
	jsonAuto = "auto"
	// jsonStd uses encoding/json for every strategy, scope included: the
	// allocator alone differs.
	jsonStd = "std"
)

// strategyNames lists the values of -alloc, in the order -compare runs them.
var strategyNames = []string{"heap", "chan", "syncpool", "syncpool-v2", "pool", "scope"}

// newStrategy returns the strategy called name, with pools of its own
// (scope allocates from the process-wide pools of slab.NewIn), coding JSON
// as codec (jsonAuto or jsonStd) says.
func newStrategy(name, codec string) (*Strategy, error) {
	if codec != jsonAuto && codec != jsonStd {
		return nil, fmt.Errorf("unknown -json %q: want %s or %s", codec, jsonAuto, jsonStd)
	}
	s := &Strategy{name: name, wrap: func(h http.Handler) http.Handler { return h }, live: func() int64 { return 0 }}
	var newObjects func() *Objects
	switch name {
	case "heap":
		newObjects = heapObjects
	case "syncpool":
		newObjects = new(syncPools).objects
	case "syncpool-v2":
		newObjects = new(syncPools).objects
		s.v2JSON = codec == jsonAuto
	case "chan":
		newObjects = newChanPools(chanPoolSize).objects
	case "pool":
		ps := newSlabPools(name)
		newObjects = ps.objects
		s.live = ps.live
	case "scope":
		newObjects = scopeObjects
		s.live = scopeLive
		s.wrap = func(h http.Handler) http.Handler { return slabhttp.Middleware(h) }
		s.scoped = true
		s.scopedJSON = codec == jsonAuto
	default:
		return nil, fmt.Errorf("unknown -alloc %q: want one of %s", name, strings.Join(strategyNames, ", "))
	}
	s.recycled.New = func() any { return newObjects() }
	return s, nil
}

// Name returns the strategy's -alloc value.
func (s *Strategy) Name() string { return s.name }

// Live returns the number of objects taken by requests and not yet given
// back: Stats().Live summed over the slab pools for pool, and for scope the
// request scopes not put back, which hold everything their requests
// allocated. Between requests it returns to its earlier value unless a
// request leaked. It is always 0 for heap, syncpool and chan, whose objects
// the GC reclaims whether or not they are given back: nothing can leak
// there.
func (s *Strategy) Live() int64 { return s.live() }

// errNoScope is the panic of a scope strategy handler that runs without
// slabhttp.Middleware around it.
var errNoScope = errors.New("httpserver: the scope strategy needs slabhttp.Middleware around the handler")

// begin returns the Objects for the request r.
func (s *Strategy) begin(r *http.Request) *Objects {
	o := s.recycled.Get().(*Objects)
	if s.scoped {
		o.scope = slab.ScopeFrom(r.Context())
		if o.scope == nil {
			s.recycled.Put(o)
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
	o.scope = nil
	o.scratch = o.scratch[:0]
	o.body = o.body[:0]
	o.out.Reset()
	s.recycled.Put(o)
}

// decode reads the body of r into req, as the strategy's users decode.
func (s *Strategy) decode(o *Objects, w http.ResponseWriter, r *http.Request, req *PriceRequest) *apiError {
	if s.v2JSON {
		data, err := readBody(o.body[:0], w, r)
		o.body = data
		if err != nil {
			return err
		}
		return decodeV2(data, req)
	}
	if !s.scopedJSON {
		return decodeStd(w, r.Body, req)
	}
	data, err := readBodyIn(o.scope, w, r)
	if err != nil {
		return err
	}
	return decodeScoped(o.scope, data, req)
}

// encode writes the priced order into o.out as JSON and a newline.
func (s *Strategy) encode(o *Objects, ord *workload.Order) error {
	return encodeStd(&o.out, ord)
}

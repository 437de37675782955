package workload

import "errors"

// Staged splits a request into its phases, so that a benchmark can time the
// allocation and the freeing of a request apart from the work on its
// objects: Stage takes one request's objects from the strategy under test,
// Build with Sources() receives those objects instead of allocating, and
// Free gives them back to the strategy.
//
//	st := workload.NewStaged(src)
//	st.Stage()               // allocation
//	r.Build(st.Sources(), n) // the work, on the staged objects
//	st.Free()                // freeing, or the scope's Release
//	r = workload.Request{}    // r points at freed objects
//
// Stage and Free call AllocN and FreeN of the Sources that are a
// BatchSource, one call per type, and Alloc and Free per object of the
// others. Free the objects through Staged.Free or Request.Free, not both.
//
// A Staged is used by one goroutine; it allocates only when it is made.
type Staged struct {
	order      staged[Order]
	customer   staged[Customer]
	address    staged[Address]
	product    staged[Product]
	lineItem   staged[LineItem]
	discount   staged[Discount]
	taxLine    staged[TaxLine]
	shipment   staged[Shipment]
	payment    staged[Payment]
	auditEvent staged[AuditEvent]
	release    func() // the Sources' Release
	src        Sources
	held       bool // Stage ran and Free has not
}

// NewStaged returns a Staged with room for one request's objects, which it
// takes from src and gives back to it.
func NewStaged(src *Sources) *Staged {
	st := &Staged{release: src.Release}
	st.order = newStaged(src.Order, 1, &st.held)
	st.customer = newStaged(src.Customer, 1, &st.held)
	st.address = newStaged(src.Address, NumAddresses, &st.held)
	st.product = newStaged(src.Product, NumItems, &st.held)
	st.lineItem = newStaged(src.LineItem, NumItems, &st.held)
	st.discount = newStaged(src.Discount, NumDiscounts, &st.held)
	st.taxLine = newStaged(src.TaxLine, NumItems, &st.held)
	st.shipment = newStaged(src.Shipment, NumShipments, &st.held)
	st.payment = newStaged(src.Payment, NumPayments, &st.held)
	st.auditEvent = newStaged(src.AuditEvent, NumAuditEvents, &st.held)
	st.src = Sources{
		Order:      &st.order,
		Customer:   &st.customer,
		Address:    &st.address,
		Product:    &st.product,
		LineItem:   &st.lineItem,
		Discount:   &st.discount,
		TaxLine:    &st.taxLine,
		Shipment:   &st.shipment,
		Payment:    &st.payment,
		AuditEvent: &st.auditEvent,
	}
	return st
}

// Stage allocates the ObjectsPerRequest objects of one request, type by
// type, for the next Build with Sources(). Objects staged before and not
// freed by Free are forgotten, not freed.
func (st *Staged) Stage() {
	st.order.stage()
	st.customer.stage()
	st.address.stage()
	st.product.stage()
	st.lineItem.stage()
	st.discount.stage()
	st.taxLine.stage()
	st.shipment.stage()
	st.payment.stage()
	st.auditEvent.stage()
	st.held = true
}

// Free gives the objects of the last Stage back: through the Sources'
// Release if it is set, else type by type. A Request built on them points
// at freed objects afterwards. Free panics if nothing is staged: once per
// Stage.
//
// The staged Sources keep their pointers to the freed objects until the
// next Stage overwrites them, so that Free does no more than the strategy's
// own freeing; they hand none of them out.
func (st *Staged) Free() {
	if !st.held {
		panic(errNotHeld)
	}
	st.held = false
	if st.release != nil {
		st.release()
		return
	}
	st.order.free()
	st.customer.free()
	st.address.free()
	st.product.free()
	st.lineItem.free()
	st.discount.free()
	st.taxLine.free()
	st.shipment.free()
	st.payment.free()
	st.auditEvent.free()
}

// Sources returns the Sources that hand out the staged objects, in order.
// Their Alloc panics if no object of its type is left staged; their Free
// panics: the objects go back through Staged.Free.
func (st *Staged) Sources() *Sources { return &st.src }

// The panics of a Staged used out of turn: bugs of the caller.
var (
	errNotStaged  = errors.New("workload: Alloc of a staged Source with no object left: call Staged.Stage before each Build")
	errStagedFree = errors.New("workload: Free of a staged Source: free the objects through Staged.Free or the Sources they were staged from")
	errNotHeld    = errors.New("workload: Staged.Free with nothing staged: call it once after each Stage")
)

// staged is the Source of one type of a Staged: objs are the objects of the
// last Stage, taken from from, and objs[next:] those not yet handed out
// while *held.
type staged[T any] struct {
	from BatchSource[T]
	objs []*T
	next int
	held *bool // the Staged's
}

func newStaged[T any](src Source[T], n int, held *bool) staged[T] {
	from, ok := src.(BatchSource[T])
	if !ok {
		from = perObject[T]{src}
	}
	return staged[T]{from: from, objs: make([]*T, n), held: held}
}

func (s *staged[T]) stage() {
	s.from.AllocN(s.objs)
	s.next = 0
}

func (s *staged[T]) free() { s.from.FreeN(s.objs) }

// Alloc returns the next staged object.
func (s *staged[T]) Alloc() *T {
	if !*s.held || s.next == len(s.objs) {
		panic(errNotStaged)
	}
	x := s.objs[s.next]
	s.next++
	return x
}

// Free panics: see Staged.Sources.
func (*staged[T]) Free(*T) { panic(errStagedFree) }

// perObject is the BatchSource of a Source that is not one: a call of Alloc
// or Free per object.
type perObject[T any] struct{ Source[T] }

func (p perObject[T]) AllocN(dst []*T) { allocEach(dst, p.Alloc) }
func (p perObject[T]) FreeN(xs []*T)   { freeEach(xs, p.Free) }

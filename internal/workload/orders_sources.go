package workload

import "sync"

// A Source hands out zeroed objects of one type and takes them back. It has
// the method set of *slab.Pool[T], which is therefore a Source.
//
// Alloc returns a pointer to a zeroed T. Free gives x back; x must not be
// used afterwards.
type Source[T any] interface {
	Alloc() *T
	Free(x *T)
}

// A BatchSource is a Source that also allocates and frees many objects in
// one call. Staged uses AllocN and FreeN where a Source has them, so that a
// benchmark of a request's allocation and freeing times the strategy's own
// work, not an interface call per object.
//
// AllocN sets every element of dst to an object that Alloc would return;
// FreeN does what Free does to each element of xs.
type BatchSource[T any] interface {
	Source[T]
	AllocN(dst []*T)
	FreeN(xs []*T)
}

// Sources has one Source per type of the workload: the allocation strategy
// of a request.
type Sources struct {
	Order      Source[Order]
	Customer   Source[Customer]
	Address    Source[Address]
	Product    Source[Product]
	LineItem   Source[LineItem]
	Discount   Source[Discount]
	TaxLine    Source[TaxLine]
	Shipment   Source[Shipment]
	Payment    Source[Payment]
	AuditEvent Source[AuditEvent]

	// Release, if not nil, gives back every object of a request at once,
	// and Request.Free calls it instead of each Source's Free: a request
	// scope's Release, or nothing at all for objects left to the GC.
	Release func()
}

// Heap is the Source that allocates with new(T) and leaves freed objects to
// the garbage collector.
type Heap[T any] struct{}

// Alloc returns new(T).
func (Heap[T]) Alloc() *T { return new(T) }

// Free does nothing: the GC reclaims x once it is unreachable.
func (Heap[T]) Free(*T) {}

// SyncPool is a Source over a sync.Pool, written as its users write it: a
// type assertion on Get, and the object zeroed before Put so that it keeps
// nothing alive and the next request starts from a zero value, as a slab.Pool
// guarantees.
type SyncPool[T any] struct{ p sync.Pool }

// NewSyncPool returns a SyncPool whose New is new(T).
func NewSyncPool[T any]() *SyncPool[T] {
	return &SyncPool[T]{p: sync.Pool{New: func() any { return new(T) }}}
}

// Alloc takes an object from the pool, or a new one.
func (s *SyncPool[T]) Alloc() *T { return s.p.Get().(*T) }

// Free zeroes x and puts it in the pool.
func (s *SyncPool[T]) Free(x *T) {
	var zero T
	*x = zero
	s.p.Put(x)
}

// AllocN takes len(dst) objects from the pool, or new ones.
func (s *SyncPool[T]) AllocN(dst []*T) { allocEach(dst, s.Alloc) }

// FreeN zeroes each object of xs and puts it in the pool.
func (s *SyncPool[T]) FreeN(xs []*T) { freeEach(xs, s.Free) }

// ChanPool is a Source over a buffered channel used as a bounded free list,
// with select/default so that neither side blocks: an empty channel means
// new(T), a full one drops the object. Freed objects are zeroed, as in
// SyncPool.
type ChanPool[T any] struct{ c chan *T }

// NewChanPool returns a ChanPool that keeps up to n free objects.
func NewChanPool[T any](n int) *ChanPool[T] { return &ChanPool[T]{c: make(chan *T, n)} }

// Alloc takes a free object from the channel, or a new one.
func (s *ChanPool[T]) Alloc() *T {
	select {
	case x := <-s.c:
		return x
	default:
		return new(T)
	}
}

// Free zeroes x and keeps it if the channel has room.
func (s *ChanPool[T]) Free(x *T) {
	var zero T
	*x = zero
	select {
	case s.c <- x:
	default:
	}
}

// AllocN takes len(dst) free objects from the channel, or new ones.
func (s *ChanPool[T]) AllocN(dst []*T) { allocEach(dst, s.Alloc) }

// FreeN zeroes each object of xs and keeps those the channel has room for.
func (s *ChanPool[T]) FreeN(xs []*T) { freeEach(xs, s.Free) }

// allocEach and freeEach are the loops of AllocN and FreeN. They are inlined
// with their function, so that each object costs a direct call (or none),
// not an indirect one.
func allocEach[T any](dst []*T, alloc func() *T) {
	for i := range dst {
		dst[i] = alloc()
	}
}

func freeEach[T any](xs []*T, free func(*T)) {
	for _, x := range xs {
		free(x)
	}
}

// HeapSources returns the strategy that allocates every object with new(T)
// and drops them all at the end of the request.
func HeapSources() *Sources {
	return &Sources{
		Order:      Heap[Order]{},
		Customer:   Heap[Customer]{},
		Address:    Heap[Address]{},
		Product:    Heap[Product]{},
		LineItem:   Heap[LineItem]{},
		Discount:   Heap[Discount]{},
		TaxLine:    Heap[TaxLine]{},
		Shipment:   Heap[Shipment]{},
		Payment:    Heap[Payment]{},
		AuditEvent: Heap[AuditEvent]{},
		Release:    func() {},
	}
}

// SyncPoolSources returns the strategy with one sync.Pool per type.
func SyncPoolSources() *Sources {
	return &Sources{
		Order:      NewSyncPool[Order](),
		Customer:   NewSyncPool[Customer](),
		Address:    NewSyncPool[Address](),
		Product:    NewSyncPool[Product](),
		LineItem:   NewSyncPool[LineItem](),
		Discount:   NewSyncPool[Discount](),
		TaxLine:    NewSyncPool[TaxLine](),
		Shipment:   NewSyncPool[Shipment](),
		Payment:    NewSyncPool[Payment](),
		AuditEvent: NewSyncPool[AuditEvent](),
	}
}

// ChanPoolSources returns the strategy with one buffered-channel pool per
// type, each keeping up to perRequest × requests free objects of its type,
// where perRequest is the type's count in one request (NumItems for
// LineItem, and so on). requests is the number of requests expected in
// flight at once.
func ChanPoolSources(requests int) *Sources {
	requests = max(requests, 1)
	return &Sources{
		Order:      NewChanPool[Order](requests),
		Customer:   NewChanPool[Customer](requests),
		Address:    NewChanPool[Address](NumAddresses * requests),
		Product:    NewChanPool[Product](NumItems * requests),
		LineItem:   NewChanPool[LineItem](NumItems * requests),
		Discount:   NewChanPool[Discount](NumDiscounts * requests),
		TaxLine:    NewChanPool[TaxLine](NumItems * requests),
		Shipment:   NewChanPool[Shipment](NumShipments * requests),
		Payment:    NewChanPool[Payment](NumPayments * requests),
		AuditEvent: NewChanPool[AuditEvent](NumAuditEvents * requests),
	}
}

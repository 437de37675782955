package pool

import (
	"net/http"
	"sync"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
)

var (
	last       *Order
	cache      = map[string]*Order{}
	history    []*Order
	lastTotal  *int
	lastResp   *Response
	globalBuf  []byte
	names      []string
	lastItems  []*Item
	globalName string
	lastID     int
)

type Response struct{ Order *Order }

type Request struct{ Items []*Item }

// case scopeescape: stored in a package-level variable.
func escGlobal(s *slab.Scope) {
	o := orders.AllocIn(s)
	last = o // want "scopeescape: o is allocated in a scope and escapes it: stored in package-level variable last"
}

// case scopeescape: stored in a package-level map.
func escGlobalMap(s *slab.Scope, k string) {
	cache[k] = orders.AllocIn(s) // want "scopeescape: .* escapes it: stored in package-level variable cache"
}

// case scopeescape: appended to a package-level slice.
func escGlobalAppend(s *slab.Scope) {
	o := orders.AllocIn(s)
	history = append(history, o) // want "scopeescape: o is allocated in a scope and escapes it: stored in package-level variable history"
}

// case scopeescape: sent on a channel.
func escSend(s *slab.Scope, out chan<- *Order) {
	o := orders.AllocIn(s)
	out <- o // want "scopeescape: o is allocated in a scope and escapes it: sent on a channel"
}

// case scopeescape: captured by a go statement.
func escGo(s *slab.Scope) {
	o := orders.AllocIn(s)
	go func() { // want "scopeescape: o is allocated in a scope and escapes it: captured by a go statement"
		fill(o, 1)
	}()
}

// case scopeescape: passed to a go statement.
func escGoArg(s *slab.Scope) {
	o := orders.AllocIn(s)
	go fill(o, 2) // want "scopeescape: o is allocated in a scope and escapes it: handed to a goroutine"
}

// case scopeescape: returned past a deferred Release.
func escReturnReleased() *Order {
	s := slab.NewScope()
	defer s.Release()
	o := orders.AllocIn(s)
	o.ID = 1
	return o // want "scopeescape: o is allocated in a scope and returned, but the scope is released when the function returns \\(deferred on line 68\\): copy the value out before the scope ends"
}

// case scopeescape: Pool.Free of a scoped object.
func escFree(s *slab.Scope) {
	o := orders.AllocIn(s)
	orders.Free(o) // want "scopeescape: o is owned by its scope: Pool.Free of it panics with ErrScoped"
}

// case scopeescape: a helper frees a scoped object.
func escFreeHelper(s *slab.Scope) {
	o := orders.AllocIn(s)
	release(o) // want "scopeescape: o is owned by its scope, but release frees it"
}

type handler struct{ last *Order }

// case scopeescape: stored in the handler, which serves every request.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := slab.ScopeFrom(r.Context())
	h.last = orders.AllocIn(s) // want "scopeescape: .* escapes it: stored in the handler's state"
}

// case scopeescape: stored in a variable that the handler closure captured.
func escHandlerClosure() http.HandlerFunc {
	var prev *Order
	return func(w http.ResponseWriter, r *http.Request) {
		o := orders.AllocIn(slab.ScopeFrom(r.Context()))
		if prev != nil {
			w.WriteHeader(http.StatusOK)
		}
		prev = o // want "scopeescape: o is allocated in a scope and escapes it: stored in the handler's state"
	}
}

// case scopeescape: a pointer into the object kept globally.
func escInterior(s *slab.Scope) {
	o := orders.AllocIn(s)
	lastTotal = &o.Total // want "scopeescape: o is allocated in a scope and escapes it: stored in package-level variable lastTotal"
}

// case scopeescape: a struct holding the object kept globally.
func escContainer(s *slab.Scope) {
	o := orders.AllocIn(s)
	lastResp = &Response{Order: o} // want "scopeescape: o is allocated in a scope and escapes it: stored in package-level variable lastResp"
}

// case scopeescape: passed to a helper that keeps it in a package-level map.
func escHelper(s *slab.Scope) {
	o := orders.AllocIn(s)
	remember(o) // want "scopeescape: o is allocated in a scope and escapes it: passed to remember, where it is stored in package-level variable registry"
}

// case scopeescape: TryAllocIn's object kept globally.
func escTryAllocIn(s *slab.Scope) error {
	o, err := orders.TryAllocIn(s)
	if err != nil {
		return err
	}
	last = o // want "scopeescape: o is allocated in a scope and escapes it"
	return nil
}

// case scopeescape: NewIn's object kept globally.
func escNewIn(s *slab.Scope) {
	last = slab.NewIn[Order](s) // want "scopeescape: .* escapes it: stored in package-level variable last"
}

// case scopeescape: a slice from MakeSliceIn kept globally.
func escMakeSliceIn(s *slab.Scope) {
	buf := slab.MakeSliceIn[byte](s, 0, 64)
	buf = append(buf, 'x')
	globalBuf = buf // want "scopeescape: buf is allocated in a scope and escapes it"
}

// case scopeescape: a string from StringIn kept globally.
func escStringIn(s *slab.Scope, b []byte) {
	name := slab.StringIn(s, b)
	names = append(names, name) // want "scopeescape: name is allocated in a scope and escapes it"
}

// case scopeescape: what slabjson decoded into the scope kept globally.
func escDecode(s *slab.Scope, data []byte) error {
	var req Request
	if err := slabjson.Unmarshal(s, data, &req); err != nil {
		return err
	}
	lastItems = req.Items // want "scopeescape: req.Items is decoded into a scope by Unmarshal and escapes it: stored in package-level variable lastItems; copy it, and what its elements refer to, out before the scope ends \\(slices.Clone copies only the slice\\)"
	return nil
}

// case scopeescape: sent in a select.
func escSelectSend(s *slab.Scope, out chan *Order, done chan struct{}) {
	o := orders.AllocIn(s)
	select { // want "scopeescape: o is allocated in a scope and escapes it: sent on a channel"
	case out <- o:
	case <-done:
	}
}

type Server struct{ last *Order }

// case scopeescape: stored in a long-lived server that is not a handler (known miss: a parameter's lifetime is unknown).
func (srv *Server) escServerField(s *slab.Scope) {
	srv.last = orders.AllocIn(s)
}

// case scopeescape: a pointer loaded from a scoped object kept globally (known miss: loads from objects are not followed).
func escLoaded(s *slab.Scope) {
	a := orders.AllocIn(s)
	a.Next = orders.AllocIn(s)
	next := a.Next
	last = next
}

// case ok: used within the scope.
func okScopedLocal(s *slab.Scope) int {
	o := orders.AllocIn(s)
	o.ID = 1
	return o.ID
}

// case ok: linked to another object of the same scope.
func okScopedLink(s *slab.Scope) {
	a := orders.AllocIn(s)
	b := orders.AllocIn(s)
	a.Next = b
}

// case ok: a goroutine that the function waits for.
func okGoWait(s *slab.Scope) {
	o := orders.AllocIn(s)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		fill(o, 1)
	}()
	wg.Wait()
}

// case ok: returned to a caller that owns the scope.
func okBuild(s *slab.Scope) *Order {
	o := orders.AllocIn(s)
	o.ID = 2
	return o
}

// case ok: a value copied out of the object.
func okCopyOut(s *slab.Scope) {
	o := orders.AllocIn(s)
	lastID = o.ID
}

// case ok: a string copied out of scoped bytes.
func okStringCopy(s *slab.Scope) {
	buf := slab.MakeSliceIn[byte](s, 0, 8)
	buf = append(buf, "name"...)
	globalName = string(buf)
}

// case ok: stored in a field of a caller's object, whose lifetime the caller knows.
func okStoreParam(dst *Response, s *slab.Scope) {
	dst.Order = orders.AllocIn(s)
}

// case ok: handed over a channel made and drained here.
func okLocalChan(s *slab.Scope) int {
	ch := make(chan *Order, 1)
	ch <- orders.AllocIn(s)
	o := <-ch
	return o.ID
}

// case ok: a pool object, not a scoped one, freed.
func okFreeUnscoped() {
	o := orders.Alloc()
	orders.Free(o)
}

// case ok: a handler that keeps its scoped objects to itself.
func okHandler(w http.ResponseWriter, r *http.Request) {
	s := slab.ScopeFrom(r.Context())
	o := orders.AllocIn(s)
	o.Items = append(o.Items, items.AllocIn(s))
	_, _ = w.Write([]byte(o.Describe()))
}

// case ok: a scope released after its objects' last use, nothing returned.
func okReleaseAfterUse() int {
	s := slab.NewScope()
	defer s.Release()
	o := orders.AllocIn(s)
	o.ID = 3
	return o.ID
}

// case scopeescape: a slice grown in the scope with AppendIn kept globally.
func escAppendIn(s *slab.Scope) {
	list := slab.AppendIn[*Item](s, nil, items.AllocIn(s))
	lastItems = list // want "scopeescape: list is allocated in a scope and escapes it: stored in package-level variable lastItems"
}

// case ok: a synchronous hand-off: the function waits for the worker's answer.
func okSendThenWait(s *slab.Scope, jobs chan<- *Order, done <-chan int) int {
	o := orders.AllocIn(s)
	jobs <- o
	return <-done
}

// newOrderIn allocates an order in s and returns it: calls of it are scoped
// allocations too.
func newOrderIn(s *slab.Scope, id int) (*Order, error) {
	o := orders.AllocIn(s)
	o.ID = id
	if id < 0 {
		return nil, errBad
	}
	return o, nil
}

// case scopeescape: a constructor's scoped object captured by a goroutine that outlives the handler.
func escConstructorGo(w http.ResponseWriter, r *http.Request) {
	o, err := newOrderIn(slab.ScopeFrom(r.Context()), 1)
	if err != nil {
		return
	}
	go func() { // want "scopeescape: o is allocated in a scope and escapes it: captured by a go statement"
		fill(o, 2)
	}()
}

// case scopeescape: a constructor's scoped object kept globally.
func escConstructorGlobal(s *slab.Scope) {
	o, _ := newOrderIn(s, 3)
	last = o // want "scopeescape: o is allocated in a scope and escapes it: stored in package-level variable last"
}

// case ok: a constructor's scoped object used in the request.
func okConstructorLocal(s *slab.Scope) int {
	o, err := newOrderIn(s, 4)
	if err != nil {
		return 0
	}
	return o.ID
}

// case useafterfree: a constructor's scoped object used after Release.
func uafConstructorRelease() int {
	s := slab.NewScope()
	o, _ := newOrderIn(s, 5)
	s.Release()
	return o.ID // want "useafterfree: o is used after its scope was released on line"
}

// case ok: a handler made for one request collects into that request's variable.
func okPerRequestHandler(w http.ResponseWriter, r *http.Request) {
	var collected []*Order
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		collected = append(collected, orders.AllocIn(slab.ScopeFrom(r.Context())))
	})
	inner.ServeHTTP(w, r)
	if len(collected) == 0 {
		w.WriteHeader(http.StatusNoContent)
	}
}

// Package slabhttp gives each HTTP request a slab.Scope, released when the
// handler returns, so that a handler allocates its objects from slab pools
// without freeing them one by one:
//
//	var orders = slab.New[Order]()
//
//	func handle(w http.ResponseWriter, r *http.Request) {
//		s := slab.ScopeFrom(r.Context())
//		o := orders.AllocIn(s) // freed when handle returns
//		...
//	}
//
//	http.ListenAndServe(addr, slabhttp.Middleware(http.HandlerFunc(handle)))
//
// # Concurrency
//
// Each request has its own scope, used by the request's goroutine: the
// handler must not allocate in it from other goroutines, nor let a goroutine
// that outlives the handler use it or its objects. The pools themselves are
// shared by all requests and safe for concurrent use.
//
// # Debugging
//
// A handler that keeps a scoped object past its return reads a zeroed object
// that another request may own. Build with the slabdebug tag to have such a
// use reported: Release poisons the objects' reference fields, so a read
// through one faults at the access, and when the read runs in a request
// (the next one, say, through a cache), the middleware reports it with the
// line that read, the Release and the allocation. Build with -race to see
// unsynchronised use from another goroutine. Stats of each pool show the objects of scopes
// that were never released (Scoped, ScopeFree); with this middleware every
// scope is released.
package slabhttp

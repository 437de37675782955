package slabhttp

import (
	"errors"
	"net/http"
	"sync"

	"github.com/slabtrack/slabtrack/slab"
)

// scopes recycles the requests' scopes, so that a request reuses the slots
// that an earlier one released, with no lock. A scope that sync.Pool drops at
// a GC gives its free slots back to the pools when it is collected.
var scopes = sync.Pool{New: func() any { return slab.NewScope() }}

// Middleware returns a handler that runs next with a scope of its own for
// each request, carried by the request's context: handlers reach it with
// slab.ScopeFrom(r.Context()) and allocate in it with Pool.AllocIn.
//
// The scope is released when next returns, and also when next panics: the
// deferred Release runs while the panic unwinds, and the panic then goes on
// unchanged to net/http or to an outer recovery middleware, since the
// middleware does not recover it. Objects allocated in the scope must
// therefore not outlive the handler: not in a goroutine that runs on after
// it, not in a response written later, not in a cache.
//
// Scopes are recycled: once the server is warm, the scope adds no allocation
// and, for requests of up to about a hundred objects per pool, no lock.
// Passing the scope through the context costs what r.WithContext and
// context.WithValue cost, two small allocations.
//
// Middleware panics if next is nil.
func Middleware(next http.Handler) http.Handler {
	if next == nil {
		panic(errNilHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := scopes.Get().(*slab.Scope)
		defer release(s)
		next.ServeHTTP(w, r.WithContext(slab.WithScope(r.Context(), s)))
	})
}

var errNilHandler = errors.New("slab: slabhttp.Middleware: nil next handler")

// release frees everything the request allocated in s and recycles s. It
// runs deferred, also while a panic unwinds.
func release(s *slab.Scope) {
	s.Release()
	scopes.Put(s)
}

package slabhttp

import (
	"errors"
	"net/http"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// scopes recycles the requests' scopes, so that a request reuses the slots
// and memory that an earlier one released, with no lock. Each request gets
// a *Scope of its own: once the request is over, a use of it that outlived
// the handler panics with slab.ErrReleased instead of touching the next
// request's scope. Its name is the label of its figures in metrics
// (tracker.ScopePools).
var scopes = slab.ScopePool{Name: "slabhttp"}

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
// Scopes are recycled through a slab.ScopePool: once the server is warm, a
// request's scope takes no lock for objects that an earlier request's scope
// kept (about as many as it used, up to slab.ScopeKeepBytes per pool and
// type), and the scope, with the context that carries it, costs one small
// allocation, besides the one of r.WithContext. A use of the scope after the
// handler returned, from a goroutine or a cache that outlived it, panics
// with an error wrapping slab.ErrReleased.
//
// A handler that reads a freed object, an object of this request's scope
// kept past a Release or an object freed by another request, faults at the
// access in builds that poison or guard freed objects (-tags slabdebug;
// slab.WithGuardSampling in release builds): the middleware turns the
// fault into a *tracker.Violation naming the line that read, the Free and
// the allocation (tracker.CatchFaults), hands it to the tracker's
// ViolationHandler if one is set, and panics with it, which net/http
// recovers and logs.
// Other panics go on unchanged. This costs a few nanoseconds per request.
//
// Middleware panics if next is nil.
func Middleware(next http.Handler) http.Handler {
	if next == nil {
		panic(errNilHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, s := scopes.WithContext(r.Context())
		defer scopes.Put(s)
		// A read of a freed object faults at the access where the pools
		// poison or guard freed objects (debug builds, guard pages): the
		// request's goroutine turns the fault into a report, and the
		// request stops with it, before the scope is released.
		tracker.PanicOnFault()
		defer tracker.CatchFaults()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

var errNilHandler = errors.New("slab: slabhttp.Middleware: nil next handler")

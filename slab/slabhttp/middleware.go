package slabhttp

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/slabtrack/slabtrack/internal/fault"
	"github.com/slabtrack/slabtrack/internal/faultreport"
	"github.com/slabtrack/slabtrack/slab"
)

// DefaultMaxBytes is the memory a request's scope may take unless the
// MaxBytes option says otherwise: far more than a JSON API's request
// needs, and far less than one request may cost a process.
const DefaultMaxBytes = 64 << 20

// An Option configures a Middleware.
type Option func(*config)

type config struct {
	name     string
	maxBytes int64
}

// MaxBytes bounds the memory each request's scope takes (see
// slab.ScopePool.MaxBytes); 0 removes the bound. Past it, the allocation
// fails with slab.ErrScopeLimit: slabjson.Unmarshal returns the error, for
// the handler to answer (413 Content Too Large suits a body that decodes to
// too much), and an allocating call that panics with it (AllocIn, NewIn,
// MakeSliceIn...) is answered by the middleware with 500 Internal Server
// Error, unless the handler has begun its response.
func MaxBytes(n int64) Option { return func(c *config) { c.maxBytes = n } }

// Name names the middleware's scope pool in metrics (slab.ScopePoolStats);
// the default is "slabhttp".
func Name(name string) Option { return func(c *config) { c.name = name } }

// Middleware returns a handler that runs next with a scope of its own for
// each request, carried by the request's context: handlers reach it with
// slab.ScopeFrom(r.Context()) and allocate in it with Pool.AllocIn,
// slab.NewIn, slab.MakeSliceIn, slabjson.Unmarshal and the rest.
//
// The scope is released when next returns, and also when next panics: the
// deferred release runs while the panic unwinds, and the panic then goes on
// unchanged to net/http or to an outer recovery middleware, since the
// middleware recovers only panics wrapping slab.ErrScopeLimit (see
// MaxBytes). Everything allocated in the scope must therefore not outlive
// next: not in a goroutine that runs on after it, not in a response written
// later, not in a cache. A goroutine that does call into the scope after
// next returned gets a panic wrapping slab.ErrInvalidScope, never the next
// request's memory; objects it took before and uses after are a use after
// release, which builds with -tags slabdebug or -asan report.
//
// Scopes are recycled through a slab.ScopePool of the middleware's own:
// once the server is warm, a request's scope reuses what an earlier
// request's scope kept, and the scope, with the context that carries it,
// costs one small allocation, besides the one of r.WithContext.
//
// # Composing with net/http
//
// What is safe follows from one rule: the scope lives from the middleware's
// call of next to next's return, on next's goroutine.
//
//   - http.TimeoutHandler outside the middleware
//     (http.TimeoutHandler(slabhttp.Middleware(h), ...)) is safe: the timed
//     out handler keeps its scope until it returns, on the goroutine
//     TimeoutHandler runs it on. Inside it (slabhttp.Middleware(
//     http.TimeoutHandler(h, ...))) is not: TimeoutHandler returns at the
//     timeout while h runs on, the middleware releases the scope, and h's
//     next call into it panics with ErrInvalidScope, which TimeoutHandler
//     swallows; h's use of objects it allocated before is a use after
//     release.
//   - A handler that hijacks the connection (http.Hijacker) and serves it
//     after returning, in a goroutine, must not use the scope there: copy
//     what the goroutine needs out of it first.
//   - Goroutines that a handler starts and waits for (sync.WaitGroup,
//     errgroup) may use the scope one at a time; two at once get
//     ErrScopeBusy.
//   - Streaming (http.Flusher), http.ResponseController and
//     http.MaxBytesReader need nothing of the middleware and are safe.
//
// A handler that reads a freed object, an object of this request's scope
// kept past a Release or an object freed by another request, faults at the
// access in builds that poison or guard freed objects (-tags slabdebug;
// slab.WithGuardSampling in default builds): the middleware turns the fault
// into a *tracker.Violation naming the line that read, the Free and the
// allocation (tracker.CatchFaults), hands it to the tracker's
// ViolationHandler if one is set, and panics with it, which net/http
// recovers and logs. This costs a few nanoseconds per request.
//
// Middleware panics if next is nil.
func Middleware(next http.Handler, opts ...Option) http.Handler {
	if next == nil {
		panic(errNilHandler)
	}
	c := config{name: "slabhttp", maxBytes: DefaultMaxBytes}
	for _, o := range opts {
		o(&c)
	}
	scopes := &slab.ScopePool{Name: c.name, MaxBytes: c.maxBytes}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, s := scopes.GetContext(r.Context())
		defer scopes.Put(s)
		defer answerLimit(w)
		// A read of a freed object faults at the access where the pools
		// poison or guard freed objects (debug builds, guard pages): the
		// request's goroutine turns the fault into a report, and the
		// request stops with it, before the scope is released.
		fault.PanicOnFault()
		defer catchFaults()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// catchFaults is tracker.CatchFaults, which this package cannot import
// (tracker imports slab): it reports a fault on a freed object and panics
// with the report, and lets every other panic go on.
func catchFaults() {
	if r := recover(); r != nil {
		faultreport.Repanic(r)
	}
}

// answerLimit answers a request whose handler panicked because its scope
// reached its limit, and lets every other panic go on.
func answerLimit(w http.ResponseWriter) {
	r := recover()
	if r == nil {
		return
	}
	if err, ok := r.(error); ok && errors.Is(err, slab.ErrScopeLimit) {
		http.Error(w, fmt.Sprintf("request exceeded its memory limit: %v", err), http.StatusInternalServerError)
		return
	}
	panic(r)
}

var errNilHandler = errors.New("slab: slabhttp.Middleware: nil next handler")

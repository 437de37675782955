// Package slabhttp gives each HTTP request a slab.Scope that is released when
// the handler returns.
package slabhttp

import (
	"net/http"
	"sync"

	"github.com/slabtrack/slabtrack/slab"
)

var scopes = sync.Pool{New: func() any { return slab.NewScope() }}

// Middleware runs next with a request context that carries a fresh scope
// (slab.ScopeFrom(r.Context())), and releases the scope when next returns or
// panics. Scopes are recycled between requests.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := scopes.Get().(*slab.Scope)
		defer func() {
			s.Release()
			scopes.Put(s)
		}()
		next.ServeHTTP(w, r.WithContext(slab.WithScope(r.Context(), s)))
	})
}

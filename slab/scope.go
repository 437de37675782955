package slab

import (
	"context"
	"fmt"
	"unsafe"
)

// A Scope owns objects allocated with AllocIn, from any number of pools, and
// frees them all with one call to Release. It suits the objects of one HTTP
// request: allocate them in the request's scope and defer Release.
//
// A Scope is not safe for concurrent use: one goroutine allocates in it (a
// request's handler), and Release must not run concurrently with AllocIn.
// After Release the scope is empty and may be used again. Objects allocated
// in a scope must not be used after Release.
type Scope struct {
	objs     []scoped
	released bool
}

// scoped is one object of a scope, with the pool that frees it.
type scoped struct {
	pool scopeOwner
	x    unsafe.Pointer
}

// scopeOwner is the type-erased face of a Pool that a Scope releases into.
type scopeOwner interface {
	releaseScoped(x unsafe.Pointer)
}

// NewScope returns an empty scope.
func NewScope() *Scope { return new(Scope) }

// AllocIn allocates a zeroed T owned by s. Release frees it; Free panics on it
// with ErrScoped.
//
// AllocIn panics like Alloc, and with ErrReleased if s is nil.
func (p *Pool[T]) AllocIn(s *Scope) *T {
	if s == nil {
		panic(fmt.Errorf("%w: AllocIn of %s with a nil *Scope", ErrReleased, p.owner.typeName))
	}
	if p.bound != 0 && !p.admit() {
		panic(p.exhausted())
	}
	x := p.alloc()
	r := p.lookup(x)
	r.s.state[r.i] = stateScoped
	s.objs = append(s.objs, scoped{p, unsafe.Pointer(x)})
	s.released = false
	return x
}

// Release frees every object allocated in s. s is then empty and may be used
// again; a second Release of an empty scope does nothing.
func (s *Scope) Release() {
	for i, o := range s.objs {
		o.pool.releaseScoped(o.x)
		s.objs[i] = scoped{}
	}
	s.objs = s.objs[:0]
	s.released = true
}

// Len returns the number of objects s owns.
func (s *Scope) Len() int { return len(s.objs) }

func (p *Pool[T]) releaseScoped(ptr unsafe.Pointer) {
	r := p.lookup((*T)(ptr))
	if r.s.state[r.i] != stateScoped {
		panic(fmt.Errorf("slab: internal error: scoped object of pool %q is not scoped", p.owner.name))
	}
	r.s.state[r.i] = stateLive
	p.free(r)
}

type scopeKey struct{}

// WithScope returns a copy of ctx that carries s.
func WithScope(ctx context.Context, s *Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

// ScopeFrom returns the scope that ctx carries, or nil.
func ScopeFrom(ctx context.Context) *Scope {
	s, _ := ctx.Value(scopeKey{}).(*Scope)
	return s
}

package slab

import (
	"context"
	"sync"
)

// A ScopePool recycles the memory of scopes that pass from one owner to the
// next, such as the scopes of HTTP requests (package slabhttp uses one).
//
// Get returns a new *Scope on recycled memory, and Put releases it and ends
// it: from then on every use of that *Scope (AllocIn, Release, a second
// Put) panics with an error wrapping ErrReleased, whoever kept it, instead
// of allocating in or freeing the scope of the next owner. Recycling a
// *Scope by hand through a sync.Pool gives no such protection: a stray
// Release through a kept pointer would free the next request's objects.
//
// Recycled memory is what Release keeps (see Scope.Release). A ScopePool
// holds its idle scopes in a sync.Pool, so a garbage collection may drop
// them; a dropped scope gives its memory back to the pools.
//
// The zero ScopePool is ready to use. A ScopePool is safe for concurrent
// use, and must not be copied after first use.
type ScopePool struct {
	_      noCopy
	states sync.Pool
}

// Get returns an empty scope, on recycled memory if there is some.
func (sp *ScopePool) Get() *Scope {
	st, _ := sp.states.Get().(*scopeState)
	if st == nil {
		st = new(scopeState)
	}
	return &Scope{st: st, gen: st.gen}
}

// Put releases s (see Scope.Release), ends it and keeps its memory for the
// next Get. s must come from Get of sp; it must not be used after Put.
//
// Put panics with an error wrapping ErrNilScope if s is nil, and with one
// wrapping ErrReleased if s was put already. If a pool's reset function
// panicked during the release, Put panics with an error wrapping
// ErrResetPanicked once s is released and ended.
func (sp *ScopePool) Put(s *Scope) {
	st := s.lease("ScopePool.Put", "", "")
	if s.st == &s.own {
		// A scope of NewScope or a zero Scope: it has no lease to end, and
		// its memory is in the *Scope itself.
		if err := st.release(); err != nil {
			panic(err)
		}
		return
	}
	err := st.release()
	st.gen++
	sp.states.Put(st)
	if err != nil {
		panic(err)
	}
}

// scopeCtx is a context carrying a scope from a ScopePool, allocated with
// the scope in one object.
type scopeCtx struct {
	context.Context
	s Scope
}

func (c *scopeCtx) Value(key any) any {
	if key == (scopeKey{}) {
		return &c.s
	}
	return c.Context.Value(key)
}

// WithContext is Get, and returns with the scope a copy of ctx that carries
// it (see ScopeFrom), made in one allocation. Put the scope back when ctx's
// work is done.
func (sp *ScopePool) WithContext(ctx context.Context) (context.Context, *Scope) {
	st, _ := sp.states.Get().(*scopeState)
	if st == nil {
		st = new(scopeState)
	}
	c := &scopeCtx{Context: ctx}
	c.s.st, c.s.gen = st, st.gen
	return c, &c.s
}

// Package slab is a stand-in for slabtrack's slab package with the same API
// signatures (TestStubMatchesSlab checks them).
package slab

import (
	"context"
	"errors"
	"reflect"
)

type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// Option configures a pool.
type Option func()

// ErrExhausted is returned by TryAlloc on a full bounded pool.
var ErrExhausted = errors.New("slab: exhausted")

// Pool allocates values of T.
type Pool[T any] struct {
	_ noCopy
	n int
}

// Ref is a handle to an object of a Pool[T].
type Ref[T any] struct {
	slot uint32
	gen  uint32
}

// IsZero reports whether r is the zero Ref.
func (r Ref[T]) IsZero() bool { return r == Ref[T]{} }

// Scope owns the objects allocated in it.
type Scope struct {
	_    noCopy
	held []any
}

func New[T any](opts ...Option) *Pool[T]                      { return new(Pool[T]) }
func (p *Pool[T]) Alloc() *T                                  { return new(T) }
func (p *Pool[T]) TryAlloc() (*T, error)                      { return new(T), nil }
func (p *Pool[T]) Free(x *T)                                  {}
func (p *Pool[T]) AllocRef() Ref[T]                           { return Ref[T]{} }
func (p *Pool[T]) FreeRef(r Ref[T])                           {}
func (p *Pool[T]) Deref(r Ref[T]) *T                          { return new(T) }
func (p *Pool[T]) RefOf(x *T) Ref[T]                          { return Ref[T]{} }
func (p *Pool[T]) AllocIn(s *Scope) *T                        { return new(T) }
func (p *Pool[T]) TryAllocIn(s *Scope) (*T, error)            { return new(T), nil }
func (p *Pool[T]) Name() string                               { return "" }
func (p *Pool[T]) Trim()                                      {}
func NewScope() *Scope                                        { return new(Scope) }
func (s *Scope) Release()                                     {}
func (s *Scope) Len() int                                     { return 0 }
func WithScope(ctx context.Context, s *Scope) context.Context { return ctx }
func ScopeFrom(ctx context.Context) *Scope                    { return nil }

// ScopePool recycles scopes.
type ScopePool struct {
	_ noCopy
}

func (sp *ScopePool) Get() *Scope                       { return new(Scope) }
func (sp *ScopePool) Put(s *Scope)                      {}
func NewValueIn(s *Scope, t reflect.Type) reflect.Value { return reflect.New(t) }
func MakeSliceValueIn(s *Scope, typ reflect.Type, n, c int) reflect.Value {
	return reflect.MakeSlice(typ, n, c)
}

func NewIn[T any](s *Scope) *T                           { return new(T) }
func MakeSliceIn[T any](s *Scope, n, c int) []T          { return make([]T, n, c) }
func AppendIn[T any](s *Scope, dst []T, elems ...T) []T  { return append(dst, elems...) }
func StringIn[B ~string | ~[]byte](s *Scope, b B) string { return string(b) }

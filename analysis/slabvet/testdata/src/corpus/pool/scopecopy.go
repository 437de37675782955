package pool

import (
	"context"

	"github.com/slabtrack/slabtrack/slab"
)

type worker struct {
	id    int
	scope slab.Scope
}

func currentPool() *slab.Pool[Order] { return orders }

func currentWorker() *worker { return nil }

// case scopecopy: a dereferenced ScopeFrom copies the request's scope.
func copyScopeFrom(ctx context.Context) {
	s := *slab.ScopeFrom(ctx) // want "scopecopy: \\*slab.ScopeFrom\\(\\) copies the slab.Scope"
	_ = s.Len()
}

// case scopecopy: a Scope sent by value.
func copySend(sp *slab.Scope, ch chan slab.Scope) {
	ch <- *sp // want "scopecopy: send copies a slab.Scope"
}

// case scopecopy: append moves the scopes to a new array.
func copyAppend(scopes []slab.Scope) []slab.Scope {
	return append(scopes, slab.Scope{}) // want "scopecopy: append copies the elements of a slice that hold a slab.Scope"
}

// case scopecopy: copy between slices of scopes.
func copyCopy(dst, src []slab.Scope) {
	copy(dst, src) // want "scopecopy: copy copies the elements of a slice that hold a slab.Scope"
}

// case scopecopy: a dereferenced pool getter copies the pool.
func copyPool() int {
	p := *currentPool() // want "scopecopy: \\*currentPool\\(\\) copies the slab.Pool"
	return len(p.Name())
}

// case scopecopy: a struct holding a scope sent by value.
func copyWorkerSend(w *worker, ch chan worker) {
	ch <- *w // want "scopecopy: send copies a slab.Scope"
}

// case scopecopy: a struct holding a scope returned from a dereferenced call.
func copyReturnDeref() worker {
	return *currentWorker() // want "scopecopy: \\*currentWorker\\(\\) copies the slab.Scope"
}

// case ok: scopes handled by pointer.
func okScopePointer() *slab.Scope {
	s := slab.NewScope()
	return s
}

// case ok: a new scope's zero value copied before use.
func okFreshDeref() int {
	s := *slab.NewScope()
	return s.Len()
}

// case ok: a method called through the dereference, no copy.
func okDerefMethod(ctx context.Context) {
	(*slab.ScopeFrom(ctx)).Release()
}

// case ok: a pointer sent.
func okSendPointer(s *slab.Scope, ch chan *slab.Scope) {
	ch <- s
}

// case ok: a slice of pointers grows.
func okAppendPointers(list []*slab.Scope) []*slab.Scope {
	return append(list, slab.NewScope())
}

// case ok: an array of scopes used in place.
func okArrayInPlace() {
	var arr [4]slab.Scope
	arr[0].Release()
}

// case ok: copylocks reports this copy; scopecopy leaves it to copylocks.
func okLeftToCopylocks(sp *slab.Scope) int {
	s := *sp
	return s.Len()
}

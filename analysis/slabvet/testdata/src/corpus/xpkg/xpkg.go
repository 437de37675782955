// Package xpkg holds the corpus cases that cross a package boundary: what
// the helpers do is known from their facts only.
package xpkg

import (
	"corpus/helpers"

	"github.com/slabtrack/slabtrack/slab"
)

// case useafterfree: freed by another package's function, then written.
func xUseAfterRelease() {
	c := helpers.Conns.Alloc()
	helpers.Release(c)
	c.N = 1 // want "useafterfree: c is used after it was freed on line"
}

// case useafterfree: another package's method frees its receiver.
func xUseAfterClose() int {
	c := helpers.Conns.Alloc()
	c.Close()
	return c.N // want "useafterfree: c is used after it was freed on line"
}

// case useafterfree: an annotated helper frees, then Free again.
func xDoubleAfterRecycle() {
	c := helpers.Conns.Alloc()
	helpers.Recycle(c)
	helpers.Conns.Free(c) // want "useafterfree: c is freed twice"
}

// case lostfree: another package's reader does not take the object.
func xLostAfterInspect() {
	c := helpers.Conns.Alloc()
	if helpers.Inspect(c) < 0 {
		return // want "lostfree: this return statement may be reached without freeing c"
	}
	helpers.Release(c)
}

// case lostfree: an annotated borrower does not take the object.
func xLostAfterLog() {
	c := helpers.Conns.Alloc()
	helpers.Log(c)
} // want "lostfree: the function may end without freeing c"

// case scopeescape: another package's function keeps a scoped object.
func xEscapeKeep(s *slab.Scope) {
	c := helpers.Conns.AllocIn(s)
	helpers.Keep(c) // want "scopeescape: c is allocated in a scope and escapes it: passed to Keep"
}

// case scopeescape: another package's function frees a scoped object.
func xFreeScoped(s *slab.Scope) {
	c := helpers.Conns.AllocIn(s)
	c.Close() // want "scopeescape: c is owned by its scope, but Close frees it"
}

// case ok: handed to another package's function that keeps it.
func xOkKeep() {
	c := helpers.Conns.Alloc()
	helpers.Keep(c)
}

// case ok: stored in the caller's box by another package's function.
func xOkStash(box *helpers.Box) {
	c := helpers.Conns.Alloc()
	helpers.Stash(c, box)
}

// case ok: freed by another package's function, deferred.
func xOkDeferRelease() int {
	c := helpers.Conns.Alloc()
	defer helpers.Release(c)
	c.N = 1
	return helpers.Inspect(c)
}

// case ok: a scoped object stored in the caller's box.
func xOkStashScoped(s *slab.Scope, box *helpers.Box) {
	helpers.Stash(helpers.Conns.AllocIn(s), box)
}

// case ok: collected and freed by another package's function.
func xOkFreeAll(n int) {
	var list []*helpers.Conn
	for range n {
		list = append(list, helpers.Conns.Alloc())
	}
	helpers.FreeAll(list)
}

var lastConn *helpers.Conn

// case scopeescape: another package's constructor returns scoped memory, kept globally here.
func xEscapeConstructor(s *slab.Scope) {
	c := helpers.NewConnIn(s)
	lastConn = c // want "scopeescape: c is allocated in a scope and escapes it: stored in package-level variable lastConn"
}

// case ok: another package's constructor's object used locally.
func xOkConstructor(s *slab.Scope) int {
	return helpers.NewConnIn(s).N
}

// case lostfree: another package's constructor's object lost on an early return.
func xLostConstructor(bad bool) error {
	c := helpers.NewConn()
	if bad {
		return nil // want "lostfree: this return statement may be reached without freeing c"
	}
	c.Close()
	return nil
}

// case ok: another package's checked constructor: nil on error, freed otherwise.
func xOkCheckedConstructor(n int) error {
	c, err := helpers.NewCheckedConn(n)
	if err != nil {
		return err
	}
	defer helpers.Release(c)
	return nil
}

// case lostfree: another package's checked constructor's object lost after the error check.
func xLostCheckedConstructor(n int) error {
	c, err := helpers.NewCheckedConn(n)
	if err != nil {
		return err
	}
	if c.N > 10 {
		return nil // want "lostfree: this return statement may be reached without freeing c"
	}
	helpers.Release(c)
	return nil
}

// case scopeescape: another package's method keeps a scoped connection in that package's registry.
func xEscapeRegistry(s *slab.Scope) {
	c := helpers.Conns.AllocIn(s)
	helpers.Shared.Put(c) // want "scopeescape: c is allocated in a scope and escapes it: stored by Put in package-level variable Shared"
}

// case ok: another package's method keeps a scoped connection in a registry made here.
func xOkLocalRegistry(s *slab.Scope) {
	reg := helpers.NewRegistry()
	reg.Put(helpers.Conns.AllocIn(s))
}

// case scopeescape: another package's helper releases the scope before its connection is returned.
func xEscapeAfterFinish() *helpers.Conn {
	s := slab.NewScope()
	defer helpers.Finish(s)
	c := helpers.NewConnIn(s)
	return c // want "scopeescape: c is allocated in a scope and returned, but the scope is released by Finish when the function returns"
}

// case useafterfree: a connection used after another package's helper released its scope.
func xUseAfterFinish() int {
	s := slab.NewScope()
	c := helpers.NewConnIn(s)
	helpers.Finish(s)
	return c.N // want "useafterfree: c is used after its scope was released by Finish on line"
}

// case ok: the helper releases the scope after the connection's last use.
func xOkFinishAfterUse() int {
	s := slab.NewScope()
	defer helpers.Finish(s)
	c := helpers.NewConnIn(s)
	return c.N
}

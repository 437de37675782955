// Package helpers frees, keeps and reads objects for package xpkg: its
// facts carry what each function does across the package boundary.
package helpers

import (
	"errors"
	"sync"

	"github.com/slabtrack/slabtrack/slab"
)

type Conn struct {
	N    int
	Peer *Conn
}

type Box struct{ C *Conn }

var Conns = slab.New[Conn]()

var kept []*Conn

// Release frees c.
func Release(c *Conn) { // want Release:"frees\\(c\\)"
	Conns.Free(c)
}

// Close frees its receiver.
func (c *Conn) Close() { // want Close:"frees\\(c\\)"
	Conns.Free(c)
}

// Keep keeps c in a package-level slice.
func Keep(c *Conn) { // want Keep:"escapes\\(c\\)"
	kept = append(kept, c)
}

// Inspect only reads c.
func Inspect(c *Conn) int { // want Inspect:"borrows\\(c\\)"
	return c.N
}

// Stash keeps c in a box of the caller's.
func Stash(c *Conn, into *Box) { // want Stash:"borrows\\(into\\)"
	into.C = c
}

// Recycler takes objects back.
type Recycler interface{ Put(c *Conn) }

var recycler Recycler

// Recycle frees c through an interface the analysis cannot see into.
//
//slabvet:frees c
func Recycle(c *Conn) { // want Recycle:"frees\\(c\\)"
	recycler.Put(c)
}

// Logger logs.
type Logger interface{ Log(v any) }

var logger Logger

// Log only reads c, through an interface.
//
//slabvet:borrows c
func Log(c *Conn) { // want Log:"borrows\\(c\\)"
	logger.Log(c)
}

// FreeAll frees every connection of list.
func FreeAll(list []*Conn) { // want FreeAll:"mayfree\\(list\\)"
	for _, c := range list {
		Conns.Free(c)
	}
}

// NewConnIn allocates a connection in s.
func NewConnIn(s *slab.Scope) *Conn { // want NewConnIn:"returns-scoped\\(s\\)"
	c := Conns.AllocIn(s)
	c.N = 1
	return c
}

// NewConn hands its caller a connection to release.
func NewConn() *Conn { // want NewConn:"returns-owned"
	c := Conns.Alloc()
	c.N = 2
	return c
}

// NewCheckedConn hands its caller a connection, or nil and an error.
func NewCheckedConn(n int) (*Conn, error) { // want NewCheckedConn:"returns-owned"
	c := Conns.Alloc()
	if n < 0 {
		Conns.Free(c)
		return nil, errNegative
	}
	c.N = n
	return c, nil
}

var errNegative = errors.New("negative")

// Registry keeps connections by number for whoever holds it.
type Registry struct {
	mu   sync.Mutex
	byID map[int]*Conn
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{byID: map[int]*Conn{}} }

// Put keeps c in r.
func (r *Registry) Put(c *Conn) { // want Put:"stores\\(c into r\\)"
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byID[c.N] = c
}

// Shared is the registry of the whole program.
var Shared = NewRegistry()

// Finish ends a unit of work: its scope is released.
func Finish(s *slab.Scope) { // want Finish:"releases\\(s\\)"
	s.Release()
}

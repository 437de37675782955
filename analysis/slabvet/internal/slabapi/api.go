// Package slabapi is the one table of slabtrack's API that the slabvet
// analyzers understand: which calls allocate, free, or tie an object to a
// scope. Every analyzer looks functions up here, so a renamed or new API
// function is one line in Table.
package slabapi

import (
	"go/types"
)

// Package paths of the slabtrack packages whose functions appear in Table.
const (
	SlabPath = "github.com/slabtrack/slabtrack/slab"
	JSONPath = "github.com/slabtrack/slabtrack/slab/slabjson"
)

// A Role says what a call does to the objects the analyzers track.
type Role int

// The roles. Argument positions are found from the signature (see Lookup),
// so the table names only the function and its role.
const (
	// Alloc returns, as its first result, an object the caller must Free.
	Alloc Role = iota + 1
	// AllocRef returns a Ref the caller must FreeRef.
	AllocRef
	// Free frees the object passed as its first non-receiver argument.
	Free
	// FreeRef frees the object that the Ref argument refers to.
	FreeRef
	// Deref returns the object that the Ref argument refers to.
	Deref
	// RefOf returns a Ref to the object argument.
	RefOf
	// AllocIn returns, as its first result, memory owned by the *Scope
	// argument: an object, a slice or a string.
	AllocIn
	// DecodeIn fills what its interface argument points to with memory owned
	// by the *Scope argument.
	DecodeIn
	// Release frees everything allocated in the receiver scope.
	Release
	// NewScope returns a new scope.
	NewScope
	// ScopeFrom returns the scope a context carries.
	ScopeFrom
	// NewPool returns a new pool.
	NewPool
)

// An Entry names one API function: its package, the receiver's type name
// for a method (empty for a function), and its name.
type Entry struct {
	Pkg  string
	Recv string
	Name string
	Role Role
}

// Table lists the API functions.
var Table = []Entry{
	{SlabPath, "Pool", "Alloc", Alloc},
	{SlabPath, "Pool", "TryAlloc", Alloc},
	{SlabPath, "Pool", "AllocRef", AllocRef},
	{SlabPath, "Pool", "Free", Free},
	{SlabPath, "Pool", "FreeRef", FreeRef},
	{SlabPath, "Pool", "Deref", Deref},
	{SlabPath, "Pool", "RefOf", RefOf},
	{SlabPath, "Pool", "AllocIn", AllocIn},
	{SlabPath, "Pool", "TryAllocIn", AllocIn},
	{SlabPath, "Scope", "Release", Release},
	{SlabPath, "", "NewScope", NewScope},
	{SlabPath, "", "ScopeFrom", ScopeFrom},
	{SlabPath, "", "New", NewPool},
	{SlabPath, "ScopePool", "Get", NewScope},
	{SlabPath, "ScopePool", "Put", Release},
	{SlabPath, "", "NewIn", AllocIn},
	{SlabPath, "", "MakeSliceIn", AllocIn},
	{SlabPath, "", "AppendIn", AllocIn},
	{SlabPath, "", "StringIn", AllocIn},
	{SlabPath, "", "NewValueIn", AllocIn},
	{SlabPath, "", "MakeSliceValueIn", AllocIn},
	{JSONPath, "", "Unmarshal", DecodeIn},
	{JSONPath, "Decoder", "Unmarshal", DecodeIn},
}

// Types whose values must not be copied (see the scopecopy analyzer).
var NoCopyTypes = []string{"Scope", "Pool", "ScopePool"}

// A Func is a resolved API function: its entry and the positions of its
// arguments, counted as in an SSA call, where a method's receiver is
// argument 0.
type Func struct {
	Entry
	// Arg is the argument that Free, FreeRef, Get and RefOf act on, and the
	// destination of DecodeIn; -1 if none.
	Arg int
	// Scope is the *Scope argument (the receiver for Release); -1 if none.
	Scope int
}

type key struct{ pkg, recv, name string }

var index = func() map[key]Entry {
	m := make(map[key]Entry, len(Table))
	for _, e := range Table {
		m[key{e.Pkg, e.Recv, e.Name}] = e
	}
	return m
}()

// Lookup returns the API function fn is, if it is one. fn may be an
// instantiation of a generic function or of a method of a generic type.
func Lookup(fn *types.Func) (Func, bool) {
	if fn == nil || fn.Pkg() == nil {
		return Func{}, false
	}
	fn = fn.Origin()
	sig := fn.Signature()
	recv := ""
	if r := sig.Recv(); r != nil {
		n := namedOf(r.Type())
		if n == nil {
			return Func{}, false
		}
		recv = n.Obj().Name()
	}
	e, ok := index[key{fn.Pkg().Path(), recv, fn.Name()}]
	if !ok {
		return Func{}, false
	}
	f := Func{Entry: e, Arg: -1, Scope: -1}
	off := 0
	if recv != "" {
		off = 1
		if e.Role == Release && recv == "Scope" {
			f.Scope = 0
		}
	}
	for i := 0; i < sig.Params().Len(); i++ {
		t := sig.Params().At(i).Type()
		switch {
		case f.Scope < 0 && IsNamed(t, SlabPath, "Scope", true):
			f.Scope = i + off
		case f.Arg < 0 && e.Role == DecodeIn && types.IsInterface(t):
			f.Arg = i + off
		case f.Arg < 0 && (e.Role == Free || e.Role == FreeRef || e.Role == Deref || e.Role == RefOf):
			f.Arg = i + off
		}
	}
	return f, true
}

// IsNamed reports whether t is the named type pkg.name (a pointer to it if
// ptr), or an instantiation of it.
func IsNamed(t types.Type, pkg, name string, ptr bool) bool {
	if ptr {
		p, ok := types.Unalias(t).(*types.Pointer)
		if !ok {
			return false
		}
		t = p.Elem()
	}
	n, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return false
	}
	o := n.Origin().Obj()
	return o.Pkg() != nil && o.Pkg().Path() == pkg && o.Name() == name
}

// IsRef reports whether t is a slab.Ref.
func IsRef(t types.Type) bool { return IsNamed(t, SlabPath, "Ref", false) }

func namedOf(t types.Type) *types.Named {
	if p, ok := types.Unalias(t).(*types.Pointer); ok {
		t = p.Elem()
	}
	n, _ := types.Unalias(t).(*types.Named)
	return n
}

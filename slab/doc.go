// Package slab is a typed slab allocator with explicit lifetimes.
//
// A Pool[T] hands out pointers to zeroed values of T from contiguous slabs
// and takes them back with Free. A bitset per slab records which slots are
// assigned. Where a Go service builds many short-lived structs per request,
// a pool turns their allocation and collection into a few nanoseconds of
// bookkeeping each, and a Scope frees all of a request's objects at once:
//
//	var orders = slab.New[Order](slab.WithName("orders"))
//
//	func handle(w http.ResponseWriter, r *http.Request) {
//		o := orders.Alloc()
//		defer orders.Free(o)
//		...
//	}
//
// Unlike sync.Pool, a Pool is typed, keeps its objects across garbage
// collections, can be bounded (WithMaxObjects, TryAlloc), and catches the
// bugs of manual memory management: Free of an object that is already free
// panics with ErrDoubleFree, Free of a pointer the pool did not allocate
// panics with ErrForeign, and a Ref (AllocRef, Deref) fails with ErrStaleRef
// when its object has been freed. These checks are on in every build. Builds
// with the slabdebug tag add stacks, poisoning, quarantine and leak reports:
// see package github.com/slabtrack/slabtrack/tracker.
//
// # Memory
//
// Slabs are ordinary Go memory, so T may hold pointers: the GC scans them.
// Free zeroes the slot with a typed store, so what a freed object referenced
// can be collected. A slab whose slots are all free is handed back to the GC
// by Trim, or automatically when it stays empty through two GC cycles
// (WithIdleTrim). A pointer into a released slab keeps that slab's memory
// alive, like any Go pointer, but the pool no longer owns it.
//
// # Concurrency
//
// Every method of Pool is safe for concurrent use; any goroutine may free an
// object that another allocated. Each P (as in GOMAXPROCS) keeps a small
// cache of free slots, so Alloc and Free take no lock and execute no atomic
// instruction in the common case; caches refill from and return to the slabs
// in batches under the pool's lock. A Scope is for one goroutine at a time.
//
// # Debugging
//
// Panics carry an error whose message starts with "slab:" and names the
// type, the pool and the slot; test them with errors.Is. A recovered panic
// leaves the pool unchanged and usable. Build with -tags slabdebug to learn
// where a bad object was allocated and freed, and which objects leaked.
package slab

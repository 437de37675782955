// Package guard places objects of pointer-free types on pages of their own,
// in memory it maps itself, so that a freed object's pages can be made
// inaccessible: any read or write of it after Free then faults at the
// access, as with KFENCE, GWP-ASan and Zig's debug allocator.
//
// The garbage collector must never scan memory it does not own, nor lose
// pointers stored there: guarded slabs are for types without pointers only
// (poison.PointerFree), and they are never unmapped, since a stale pointer
// may still reach them. Retire makes a slab inaccessible and keeps it for
// the next slab of the same size.
//
//	s, err := guard.NewSlab(unsafe.Sizeof(Point{}), 64, guard.Owner{Pool: id, FirstSlot: 0, Fields: fields})
//	p := (*Point)(s.Slot(3)) // live: readable and writable
//	...
//	err = s.Protect(3, true) // at Free: PROT_NONE, its memory given back
//	...
//	err = s.Unprotect(3)     // at reuse: readable and writable, zero
//
// A fault in a protected slot, recovered under fault.PanicOnFault, gives
// an address that Lookup turns into the slab, the slot and the offset.
//
// # Layout
//
// Each slot starts on its own OS page and takes whole pages: Stride is the
// object's size rounded up to the page size (4 KiB on amd64 and most arm64
// kernels). A slab starts on an 8 KiB boundary and ends on one, so that it
// owns whole pages of internal/slabmap's address map and can be registered
// there like a heap slab; objects sit at the start of their pages, so a
// slot's address is Base + i*Stride.
//
// # Cost
//
// Memory: a whole page per object (4 KiB for a 56-byte object), resident
// while the object is live or, unless Protect discards it, while it is
// protected; plus the kernel's record of each mapping split (about 200
// bytes). Time: one mprotect per Free and per reuse, a few microseconds
// each, more with many threads (a protection change flushes other CPUs'
// TLBs); BenchmarkFlip measures it.
//
// The kernel's map count: each protected slot between accessible ones
// splits its slab's mapping in three, and vm.max_map_count (65530 by
// default) bounds the mappings of a process; past it mmap and mprotect fail
// with ENOMEM, also for the Go runtime. The package therefore keeps a
// budget: two mappings per protected slot and one per slab, within the
// kernel's limit less the mappings that existed at start-up and an eighth
// of the limit for the rest of the program. With the default limit that is
// about 28,000 protected slots at once. Protect returns ErrBudget when the
// budget is spent; the caller then reuses or quarantines the slot
// unprotected. Adjacent protected slots merge into one mapping, so the
// budget is an upper bound.
//
// # Uses
//
// The package is built for two uses, which package slab is to wire: debug
// builds putting every object of a pointer-free pool on guard pages, with
// each freed slot protected while it sits in the quarantine; and default
// builds sampling, where a Ring over one small slab holds one object in N
// of a pointer-free pool, reuses the slot freed longest ago, and keeps
// every other freed slot protected, as GWP-ASan does.
//
// # Platforms
//
// Linux only (package syscall). Elsewhere NewSlab returns an error wrapping
// errors.ErrUnsupported and pools keep their objects on the heap.
//
// # Concurrency
//
// NewSlab, Lookup and the Slab methods are safe for concurrent use;
// Protect and Unprotect of one slot must not race with each other (the pool
// owns the slot). A Ring is safe for concurrent use.
package guard

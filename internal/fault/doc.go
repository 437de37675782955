// Package fault reserves the address region that freed objects' reference
// words point into, and turns a fault address inside it back into the pool,
// slot and field that the poisoned word belonged to.
//
// When debug builds free a slot whose type holds references, package poison
// writes into each reference word (pointer, map, chan, func, slice and
// string data, interface data) an address inside this region. The region is
// mapped PROT_NONE and never unmapped, so a program that reads such a word
// after Free and dereferences it faults at that line, and the address says
// which object and field it read:
//
//	cell := fault.Acquire(fault.Record{Pool: id, Slot: 12, Serial: 3, Fields: fields})
//	p := cell.Addr(window) // the value stored in one reference word
//	...
//	f, ok := fault.Decode(addr) // addr from a recovered runtime.Error's Addr()
//	a := f.Access()             // "Customer", reached as Customer.Name
//
// # Layout
//
// The region is split into cells of 2^k bytes, one per freed object. A cell
// is split into windows, one per reference word of the object's type
// (package poison decides their sizes): a pointer's window is as large as
// its pointee, a slice's as its elements up to the length poison writes, so
// that the program may add an offset (a field of the pointee, o.Items[i] with
// a large i) and still land in the window of the word it read. A side table
// records, per cell, the pool, slot, generation and type it was handed to;
// Decode reads it.
//
// Bounds: the region is 64 GiB of address space at 0x6b6b00000000 where the
// kernel allows it (addresses in fault reports then start with 0x6b6b), in
// 262144 cells of 256 KiB; where 64 GiB cannot be reserved, 16 GiB, 4 GiB and
// then 1 GiB are tried, with cells of 64 KiB, 16 KiB and 16 KiB. The
// mapping is PROT_NONE and MAP_NORESERVE: it costs one kernel mapping and no
// memory. The side table costs 24 bytes per cell (6 MiB for 262144 cells),
// allocated in chunks as cells are first handed out.
//
// Cells are handed out round-robin (each P takes them in batches of 64, so
// that Ps do not share cache lines) and skip cells still in use, so a cell
// is reused only after about every other cell was handed out since. A cell stays in
// use from Acquire until Release (the slot's quarantine); a copy of a
// poisoned word that the program made (c := o.Customer) keeps pointing into
// the cell after that. If the cell has been handed to another object since,
// Decode names that object: the report is wrong only for a copy that
// outlived a full turn of the ring (262144 frees of objects with
// references). When every probed cell is in use, Acquire returns the
// anonymous cell 0, whose faults decode as "a freed object, not recorded".
//
// # Platforms
//
// The region exists on linux/amd64 and linux/arm64 (package syscall). On
// other platforms, or where no size could be reserved, Available is false,
// Acquire returns 0 and Cell.Addr returns nil: package poison then poisons
// reference words with nil and zero lengths, as debug builds did before, and
// a read of a freed reference field is a nil dereference or an empty value.
//
// # Concurrency
//
// Every function is safe for concurrent use. Acquire and Release take no
// lock.
//
// # Debugging
//
// The garbage collector ignores pointer values outside its heap arenas: the
// region is a mapping of its own, which the Go heap never overlaps, so a
// pointer word holding a cell address is neither followed nor reported as an
// invalid pointer (GODEBUG=invalidptr=1). Package poison stores these values
// with typed pointer stores, which the write barrier sees and ignores. The
// tests of package poison check both under a GC-heavy stress test, with
// GODEBUG=invalidptr=1,gccheckmark=1,clobberfree=1 and under -race.
package fault

// Package asan marks the memory that slabtrack frees as inaccessible in
// AddressSanitizer's shadow memory, in binaries built with go build -asan
// (or go test -asan), so that any later read or write of it by Go code is
// reported by AddressSanitizer at the access; and it keeps the records that
// let the report name the pool, the type, the slot, the field and where the
// object was allocated and freed.
//
// Under -asan the compiler instruments every load and store of Go code
// (not the runtime's) with a check of the shadow memory. Package slab calls
// Freed when it frees a slot or releases scope memory, and Handed when it
// hands memory out again; whatever the library itself reads or writes in
// freed memory (zeroing, poison checks) it unpoisons first:
//
//	asan.Handed(p, n, stack, now) // at Alloc: addressable again
//	...
//	asan.Freed(p, n, stack, now)  // at Free: an access now is reported
//
// AddressSanitizer then stops the program at the access with its report
// (use-after-poison, the access and its stack), and this package's
// error-report callback adds slabtrack's, in the format of package
// tracker's reports: the object, its field, where it was freed and where
// it was allocated, from records kept in C memory (the callback runs inside
// the instrumented access, where no Go code can run).
//
// # Builds
//
// The mode's files are built only with -asan (build tag asan), and only
// they use cgo. In every other build Enabled is false and the functions
// are empty, so that callers' hooks, behind "if asan.Enabled", compile to
// nothing and default builds link no C.
//
// # Concurrency
//
// Every function is safe for concurrent use.
package asan

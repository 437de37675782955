//go:build asan

package asan

/*
#include <stdint.h>
#include <stdlib.h>

void st_init(const char *module, int64_t go_now);
void st_poison(uintptr_t p, uintptr_t n);
void st_unpoison(uintptr_t p, uintptr_t n);
int st_poisoned(uintptr_t p, uintptr_t n);
uint32_t st_owner(const char *pool, const char *type, uintptr_t size, int scope);
void st_owner_field(uint32_t owner, uintptr_t from, uintptr_t to, const char *name);
uint64_t st_region_add(uintptr_t base, uintptr_t limit, uintptr_t stride, uint32_t owner, int64_t first);
void st_region_remove(uintptr_t base, uint64_t id);
void st_region_released(uintptr_t base);
void st_handed(uintptr_t p, uintptr_t n, uint32_t stack, int64_t now);
void st_grown(uintptr_t p, uintptr_t n);
void st_freed(uintptr_t p, uintptr_t n, uint32_t stack, int64_t now);
void st_stack(uint32_t id, const char *frames);

#include "asan_report.h"
*/
import "C"

import (
	"reflect"
	"strings"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/clock"
)

// Enabled reports whether the binary was built with -asan.
const Enabled = true

func init() {
	// The module's import path prefix, for the report to tell slabtrack's
	// frames from the program's, as internal/stack does.
	mod := C.CString(strings.TrimSuffix(reflect.TypeFor[Owner]().PkgPath(), "internal/asan"))
	defer C.free(unsafe.Pointer(mod))
	C.st_init(mod, C.int64_t(clock.Now()))
}

// The addresses handed to C are of Go memory that stays allocated while C
// uses them (the call), or of memory outside the Go heap; C keeps none.
func addr(p unsafe.Pointer) C.uintptr_t { return C.uintptr_t(uintptr(p)) }

// Poison makes the n bytes at p inaccessible: AddressSanitizer reports any
// read or write of them by instrumented code until Unpoison or Handed.
// ASan tracks memory in 8-byte granules: a granule that p's range covers
// only in part stays accessible where the range cannot express it (the
// start of a granule whose end is accessible).
func Poison(p unsafe.Pointer, n uintptr) { C.st_poison(addr(p), C.uintptr_t(n)) }

// Unpoison makes the n bytes at p accessible again, without recording an
// allocation: for the library's own accesses to freed memory, which Poison
// ends.
func Unpoison(p unsafe.Pointer, n uintptr) { C.st_unpoison(addr(p), C.uintptr_t(n)) }

// Poisoned reports whether any of the n bytes at p is poisoned.
func Poisoned(p unsafe.Pointer, n uintptr) bool { return C.st_poisoned(addr(p), C.uintptr_t(n)) != 0 }

// Handed unpoisons the n bytes at p, handed out by an allocation whose
// stack (internal/stack's id, 0 if none) and time (internal/clock) are
// given, and records them for reports.
func Handed(p unsafe.Pointer, n uintptr, stack uint32, now int64) {
	C.st_handed(addr(p), C.uintptr_t(n), C.uint32_t(stack), C.int64_t(now))
}

// Grown unpoisons the n bytes at p, an allocation of scope memory that grew
// in place to n bytes, and records its new length.
func Grown(p unsafe.Pointer, n uintptr) { C.st_grown(addr(p), C.uintptr_t(n)) }

// Freed records the free of the n bytes at p, at the stack and time given,
// and poisons them. For scope memory, p is a chunk and n the bytes of it
// that the released scope used: each allocation in them is released.
func Freed(p unsafe.Pointer, n uintptr, stack uint32, now int64) {
	C.st_freed(addr(p), C.uintptr_t(n), C.uint32_t(stack), C.int64_t(now))
}

// An Owner names what a region holds: a pool's objects or a type of scope
// memory.
type Owner uint32

// NewOwner records the names that reports give to the objects of a pool
// (pool its name, typ "*main.Order") or, with scope set, to scope memory of
// a type (typ "[]main.Line"); size is the size of one object or element.
func NewOwner(pool, typ string, size uintptr, scope bool) Owner {
	cp, ct := C.CString(pool), C.CString(typ)
	defer C.free(unsafe.Pointer(cp))
	defer C.free(unsafe.Pointer(ct))
	s := C.int(0)
	if scope {
		s = 1
	}
	return Owner(C.st_owner(cp, ct, C.uintptr_t(size), s))
}

// AddField records that bytes [from, to) of the owner's objects are the
// field name, such as "Lines[2].Qty".
func (o Owner) AddField(from, to uintptr, name string) {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	C.st_owner_field(C.uint32_t(o), C.uintptr_t(from), C.uintptr_t(to), cn)
}

// A Region is the handle of a region of memory, for RemoveRegion.
type Region uint64

// AddRegion records [base, limit) as memory of o: with stride > 0, a slab
// whose slots are stride bytes apart, numbered from first; with stride 0, a
// chunk of scope memory. A region it overlaps is forgotten: its memory was
// given back and holds this one now.
func AddRegion(base, limit, stride uintptr, o Owner, first int) Region {
	return Region(C.st_region_add(C.uintptr_t(base), C.uintptr_t(limit), C.uintptr_t(stride), C.uint32_t(o), C.int64_t(first)))
}

// RemoveRegion forgets the region at base, if AddRegion returned r for it:
// its memory was collected.
func RemoveRegion(base uintptr, r Region) { C.st_region_remove(C.uintptr_t(base), C.uint64_t(r)) }

// ReleasedRegion notes that the slab at base was released (Pool.Trim).
func ReleasedRegion(base uintptr) { C.st_region_released(C.uintptr_t(base)) }

// NoteStack records the frames of stack id, for reports: "function
// file:line", one a line, innermost first, as they are to be printed.
// internal/stack calls it once per stack it interns.
func NoteStack(id uint32, frames string) {
	cf := C.CString(frames)
	defer C.free(unsafe.Pointer(cf))
	C.st_stack(C.uint32_t(id), cf)
}

// A Piece is the record of an allocation of scope memory, released.
type Piece struct {
	Alloc, Free     uint32 // internal/stack ids
	AllocAt, FreeAt int64  // internal/clock times
	Start           uintptr
	Off             uintptr // the offset of the address described in the allocation
	Index           int     // the allocation's position among its chunk's records
}

// Describe returns the record of the released allocation of scope memory
// that holds addr, for a report of a fault there.
func Describe(addr uintptr) (Piece, bool) {
	var d C.st_desc
	if C.st_describe(C.uintptr_t(addr), &d) == 0 {
		return Piece{}, false
	}
	return Piece{
		Alloc: uint32(d.alloc), Free: uint32(d.free),
		AllocAt: int64(d.alloc_at), FreeAt: int64(d.free_at),
		Start: uintptr(d.start), Off: uintptr(d.off), Index: int(d.index),
	}, true
}

// Capture records the stack whose innermost frame pointer is fp (of the
// function that calls Capture's caller's caller: see internal/stack),
// leaving out skip frames and keeping depth, and returns its id, and
// whether it is new (its frames are then to be handed to NoteStack). In
// -asan builds internal/stack keeps its depot here: capturing and interning
// in C, which AddressSanitizer does not instrument, costs a tenth of doing
// it in Go, where every load of the walk is checked. The id is 0 for an
// empty stack, 0xffffffff if the depot is full.
func Capture(fp unsafe.Pointer, skip, depth int) (id uint32, added bool) {
	var a C.int
	id = uint32(C.st_capture(C.uintptr_t(uintptr(fp)), C.int(skip), C.int(depth), &a))
	return id, a != 0
}

// Intern returns the id of the stack pcs, and whether it is new, as
// Capture does, for stacks that runtime.Callers recorded.
func Intern(pcs []uintptr) (id uint32, added bool) {
	if len(pcs) == 0 {
		return 0, false
	}
	var a C.int
	id = uint32(C.st_intern((*C.uintptr_t)(unsafe.Pointer(&pcs[0])), C.int(len(pcs)), &a))
	return id, a != 0
}

// StackPCs returns the PCs of stack id.
func StackPCs(id uint32) []uintptr {
	var buf [64]uintptr
	n := C.st_stack_pcs(C.uint32_t(id), (*C.uintptr_t)(unsafe.Pointer(&buf[0])), C.int(len(buf)))
	return append([]uintptr(nil), buf[:n]...)
}

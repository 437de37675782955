// Package typed copies, clears and stores values whose types are known only
// at run time, by their runtime type descriptors (the data word of a
// reflect.Type), with the write barriers the garbage collector requires for
// pointer words: the runtime functions that reflect uses, reached by
// linkname as widely used encoders reach them. The runtime keeps them for
// those (go.dev/issue/67401). Callers pass descriptors from reflect.Type values,
// and pointers to memory of those types.
package typed

import (
	"reflect"
	"unsafe"
)

// Type returns the runtime descriptor of t.
func Type(t reflect.Type) unsafe.Pointer { return (*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1] }

// Move copies the value of type typ at src to dst.
//
//go:linkname Move runtime.typedmemmove
func Move(typ, dst, src unsafe.Pointer)

// Copy copies n values of the element type typ from src to dst, as copy
// does for slices.
func Copy(typ, dst, src unsafe.Pointer, n int) {
	typedslicecopy(typ, dst, n, src, n)
}

//go:linkname typedslicecopy runtime.typedslicecopy
func typedslicecopy(typ, dstPtr unsafe.Pointer, dstLen int, srcPtr unsafe.Pointer, srcLen int) int

// ClearPointers zeroes n bytes at p, memory that may hold pointers.
//
//go:linkname ClearPointers runtime.memclrHasPointers
func ClearPointers(p unsafe.Pointer, n uintptr)

// MapAccess returns a pointer to the value of key in the map m, whose type
// (with string keys and values of at most 128 bytes) has the descriptor
// typ, and whether the key is present.
//
//go:linkname MapAccess runtime.mapaccess2_faststr
func MapAccess(typ, m unsafe.Pointer, key string) (unsafe.Pointer, bool)

// MapAssign returns a pointer to the value of key in the map m, adding the
// key if it is absent; the caller stores the value there with Move.
//
//go:linkname MapAssign runtime.mapassign_faststr
func MapAssign(typ, m unsafe.Pointer, key string) unsafe.Pointer

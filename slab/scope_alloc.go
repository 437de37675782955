package slab

import (
	"unsafe"
)

// Values of any type in a scope, the public API: NewIn, MakeSliceIn,
// AppendIn and StringIn, which allocate from the scope's arenas
// (scope_arena.go). Pool objects in a scope are Pool.AllocIn's
// (scope.go); maps are MakeMapIn's (scope_maps.go), and strings built in
// place a Builder's (scope_builder.go).

// valuesIn returns zeroed memory for c values of et in s, for the call op.
func valuesIn(s *Scope, et *elemType, c int, op scopeOp) unsafe.Pointer {
	if c < 0 || uintptr(c) > maxAllocBytes/et.size {
		panic(capacityError(op, et, c))
	}
	st := s.enter(op, "", "")
	p := st.allocValues(et, uintptr(c))
	var err error
	if p == nil {
		err = st.limitError(op, et.typ.String(), uintptr(c)*et.size)
	}
	s.exit(st)
	if err != nil {
		panic(err)
	}
	return p
}

// maxAllocBytes bounds one allocation in a scope, as the Go heap bounds
// one make.
const maxAllocBytes = 1 << 40

// NewIn returns a pointer to a new zeroed T owned by s: s.Release frees
// it, and it must not be used after. It is for values of any type, with no
// pool to declare: NewIn allocates from memory the scope holds for T, a
// few nanoseconds per call. The object is not a pool's: Pool.Free must not
// be called on it.
//
// NewIn panics with an error wrapping ErrNilScope if s is nil,
// ErrScopeLimit if s's ScopePool bounds its memory and s has taken that
// much, ErrInvalidScope if s was taken back by its ScopePool, and ErrScopeBusy if
// another goroutine is using s.
func NewIn[T any](s *Scope) *T {
	var t T
	if unsafe.Sizeof(t) == 0 {
		s.check(opNewIn)
		return new(T)
	}
	return (*T)(valuesIn(s, elemTypeFor[T](), 1, opNewIn))
}

// MakeSliceIn returns a slice of T of length n and capacity c whose backing
// array s owns: s.Release frees it, and it must not be used after. Like
// make([]T, n, c), it panics if n < 0 or n > c; it panics as NewIn does. A
// capacity of 0 takes no memory and gives an empty slice, not nil:
// encoding/json writes it as [], not null.
func MakeSliceIn[T any](s *Scope, n, c int) []T {
	if n < 0 || n > c {
		panic(sliceLengthError(n, c))
	}
	var t T
	if c == 0 || unsafe.Sizeof(t) == 0 {
		s.check(opMakeSliceIn)
		return make([]T, n, c)
	}
	return unsafe.Slice((*T)(valuesIn(s, elemTypeFor[T](), c, opMakeSliceIn)), c)[:n]
}

// AppendIn appends elems to dst, as append does, and returns the result. If
// dst has no room, the new backing array is in s (s.Release frees it), at
// least twice as large as dst's, and, as with append, does not share memory
// with dst. dst may be nil or any slice, in s or not.
//
// AppendIn panics as NewIn does, also when dst has room.
func AppendIn[T any](s *Scope, dst []T, elems ...T) []T {
	n := len(dst) + len(elems)
	var t T
	if n <= cap(dst) || unsafe.Sizeof(t) == 0 {
		s.check(opAppendIn)
		return append(dst, elems...)
	}
	c := max(2*cap(dst), n, appendMinCap(unsafe.Sizeof(t)))
	out := unsafe.Slice((*T)(valuesIn(s, elemTypeFor[T](), c, opAppendIn)), c)[:len(dst)]
	copy(out, dst)
	return append(out, elems...)
}

// appendMinCap is the capacity AppendIn gives a nil or empty slice: 8
// values, or fewer of a type larger than 128 bytes.
func appendMinCap(size uintptr) int { return int(max(1, min(8, 1024/size))) }

// StringIn returns a string holding the bytes of b whose memory s owns:
// s.Release frees it, and it must not be used after. An empty b takes no
// memory. To build a string in the scope without a copy on the heap first,
// append to a slice from MakeSliceIn or AppendIn and convert it with
// unsafe.String, or use a strings.Builder-like AppendIn loop.
//
// StringIn panics as NewIn does.
func StringIn[B ~string | ~[]byte](s *Scope, b B) string {
	if len(b) == 0 {
		s.check(opStringIn)
		return ""
	}
	p := valuesIn(s, bytesType, len(b), opStringIn)
	copy(unsafe.Slice((*byte)(p), len(b)), b)
	return unsafe.String((*byte)(p), len(b))
}

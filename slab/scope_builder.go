package slab

import (
	"unicode/utf8"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
)

// A Builder builds a string in a scope's memory, as strings.Builder builds
// one on the heap: StringIn(s, render(x)) copies a string that render made
// on the heap, where a Builder writes the bytes in the scope to begin with.
// Its buffer grows in place while nothing else is allocated in the scope's
// memory for bytes in between, and by a copy in the scope otherwise.
//
//	b := slab.BuilderIn(s, 64)
//	b.WriteString("/bid?imp=")
//	b.Write(strconv.AppendInt(b.AvailableBuffer(), id, 10))
//	url := b.String() // s.Release frees it
//
// The string that String returns, and the bytes of AvailableBuffer, must
// not be used after the scope is released. A Builder is for the goroutine
// that uses its scope; the zero Builder has no scope, and its writes panic
// with an error wrapping ErrNilScope. Like strings.Builder, a Builder must
// not be copied after its first write.
type Builder struct {
	s   *Scope
	buf []byte
}

// BuilderIn returns a Builder that writes in s, with room for n bytes to
// begin with.
//
// BuilderIn panics as NewIn does.
func BuilderIn(s *Scope, n int) Builder {
	b := Builder{s: s}
	if n > 0 {
		b.grow(n, opBuilderIn)
	} else {
		s.check(opBuilderIn)
	}
	return b
}

// Grow makes room for n more bytes, in the scope.
//
// Grow panics as NewIn does.
func (b *Builder) Grow(n int) {
	if n < 0 {
		panic(growCountError(n))
	}
	b.grow(n, opBuilderWrite)
}

// grow is Grow for the call op, which panics name.
func (b *Builder) grow(n int, op scopeOp) {
	if cap(b.buf)-len(b.buf) >= n {
		return
	}
	st := b.s.enter(op, "", "")
	a := st.arenaOf(bytesType)
	want := max(2*cap(b.buf), len(b.buf)+n, 32)
	if p := unsafe.SliceData(b.buf); p != nil && a.extend(unsafe.Pointer(p), uintptr(cap(b.buf)), uintptr(want)) {
		if asan.Enabled {
			asanGrow(unsafe.Pointer(p), uintptr(want)) // the room it grew by was poisoned
		}
		b.buf = unsafe.Slice(p, want)[:len(b.buf)]
		b.s.exit(st)
		return
	}
	p := a.alloc(uintptr(want), 1)
	if debugMode && p != nil {
		a.noteAlloc(p, uintptr(want))
	}
	if asan.Enabled && p != nil {
		a.asanAlloc(p, uintptr(want))
	}
	var err error
	if p == nil {
		err = st.limitError(op, "", uintptr(want))
	}
	b.s.exit(st)
	if err != nil {
		panic(err)
	}
	nb := unsafe.Slice((*byte)(p), want)[:len(b.buf)]
	copy(nb, b.buf)
	b.buf = nb
}

// Write appends p to the string. It returns len(p) and a nil error.
func (b *Builder) Write(p []byte) (int, error) {
	if len(p) > cap(b.buf)-len(b.buf) {
		b.Grow(len(p))
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// WriteString appends s to the string. It returns len(s) and a nil error.
func (b *Builder) WriteString(s string) (int, error) {
	if len(s) > cap(b.buf)-len(b.buf) {
		b.Grow(len(s))
	}
	b.buf = append(b.buf, s...)
	return len(s), nil
}

// WriteByte appends c to the string. It returns nil.
func (b *Builder) WriteByte(c byte) error {
	if len(b.buf) == cap(b.buf) {
		b.Grow(1)
	}
	b.buf = append(b.buf, c)
	return nil
}

// WriteRune appends the UTF-8 encoding of r to the string. It returns its
// length and a nil error.
func (b *Builder) WriteRune(r rune) (int, error) {
	if cap(b.buf)-len(b.buf) < utf8.UTFMax {
		b.Grow(utf8.UTFMax)
	}
	n := len(b.buf)
	b.buf = utf8.AppendRune(b.buf, r)
	return len(b.buf) - n, nil
}

// AvailableBuffer returns an empty slice of the room left in the scope,
// for an append such as strconv.AppendInt to write into, and then Write:
// call Grow first for the room the append needs, or it may copy to the
// heap.
func (b *Builder) AvailableBuffer() []byte { return b.buf[len(b.buf):] }

// Len returns the number of bytes written.
func (b *Builder) Len() int { return len(b.buf) }

// String returns the bytes written, as a string in the scope; later writes
// do not change it.
func (b *Builder) String() string { return unsafe.String(unsafe.SliceData(b.buf), len(b.buf)) }

// extend grows the allocation of n bytes at p to m bytes in place, if it is
// the last allocation of the arena's current chunk and the chunk has the
// room, and reports whether it did. Debug builds, which record each
// allocation for its report, always copy.
func (a *arena) extend(p unsafe.Pointer, n, m uintptr) bool {
	if debugMode || a.cur == nil || uintptr(p) < uintptr(a.cur) || uintptr(p)-uintptr(a.cur)+n != a.off || m-n > a.end-a.off {
		return false
	}
	a.off += m - n
	a.used += m - n
	return true
}

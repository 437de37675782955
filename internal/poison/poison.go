// Package poison fills freed objects with a byte pattern and verifies it
// later, as Linux SLUB's poisoning and Zig's debug allocator do, so that a
// write to an object after it was freed is detected.
//
// The garbage collector forbids writing pointer words through unsafe: a
// pointer written without a write barrier can hide a live object from a
// concurrent mark. So a Layout, built with reflect, splits a type into
// scalar bytes, which are filled with Byte, and pointer-holding words, which
// stay zero (the caller zeroes the object with a typed store first). Verify
// checks both: any byte that differs from the pattern, or any pointer word
// that is no longer nil, is a write after free.
package poison

import (
	"fmt"
	"reflect"
	"strings"
	"unsafe"
)

// Byte is the pattern of freed scalar bytes: SLUB's POISON_FREE.
const Byte = 0x6b

// A Layout describes where a type keeps its pointers.
type Layout struct {
	typ  reflect.Type
	size uintptr
	// runs are the scalar byte ranges, in order and merged. Bytes outside
	// them hold pointer words and string, slice and interface headers,
	// which stay zero.
	runs []run
}

type run struct{ off, n uintptr }

// New returns the layout of t.
func New(t reflect.Type) *Layout {
	l := &Layout{typ: t, size: t.Size()}
	var ptrs []run // pointer-holding ranges, in order
	walk(t, 0, &ptrs)
	at := uintptr(0)
	for _, p := range ptrs {
		if p.off > at {
			l.runs = append(l.runs, run{at, p.off - at})
		}
		at = max(at, p.off+p.n)
	}
	if at < l.size {
		l.runs = append(l.runs, run{at, l.size - at})
	}
	return l
}

// walk appends the pointer-holding ranges of a value of type t at off.
func walk(t reflect.Type, off uintptr, ptrs *[]run) {
	switch t.Kind() {
	case reflect.Pointer, reflect.UnsafePointer, reflect.Map, reflect.Chan, reflect.Func,
		reflect.String, reflect.Slice, reflect.Interface:
		// The whole header stays zero: a freed string or slice then reads
		// as empty rather than as a huge length over a nil pointer.
		*ptrs = append(*ptrs, run{off, t.Size()})
	case reflect.Array:
		if t.Len() == 0 || !hasPointers(t.Elem()) {
			return
		}
		for i := range t.Len() {
			walk(t.Elem(), off+uintptr(i)*t.Elem().Size(), ptrs)
		}
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			walk(f.Type, off+f.Offset, ptrs)
		}
	}
}

func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.UnsafePointer, reflect.Map, reflect.Chan, reflect.Func,
		reflect.String, reflect.Slice, reflect.Interface:
		return true
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// pattern and zeros are copied from and compared against in chunks.
var (
	pattern [512]byte
	zeros   [512]byte
)

func init() {
	for i := range pattern {
		pattern[i] = Byte
	}
}

// Fill writes Byte over the scalar bytes of the object at p, and nothing
// else. The object's pointer words must already be zero.
func (l *Layout) Fill(p unsafe.Pointer) {
	for _, r := range l.runs {
		b := unsafe.Slice((*byte)(unsafe.Add(p, r.off)), r.n)
		for len(b) > 0 {
			b = b[copy(b, pattern[:]):]
		}
	}
}

// Find returns the offset of the first byte of the object at p that differs
// from its expected value: Byte in scalar bytes if poisoned, else zero, and
// zero in pointer words. ok is false if every byte is as expected.
func (l *Layout) Find(p unsafe.Pointer, poisoned bool) (off uintptr, found bool) {
	at := uintptr(0)
	for _, r := range l.runs {
		if o, bad := differs(p, at, r.off, &zeros); bad {
			return o, true
		}
		want := &zeros
		if poisoned {
			want = &pattern
		}
		if o, bad := differs(p, r.off, r.off+r.n, want); bad {
			return o, true
		}
		at = r.off + r.n
	}
	return differs(p, at, l.size, &zeros)
}

// differs compares bytes [from, to) of the object at p with the repeated
// chunk want, and returns the first offset that differs.
func differs(p unsafe.Pointer, from, to uintptr, want *[512]byte) (uintptr, bool) {
	for from < to {
		n := min(to-from, uintptr(len(want)))
		b := unsafe.Slice((*byte)(unsafe.Add(p, from)), n)
		if string(b) != string(want[:n]) {
			for i := range b {
				if b[i] != want[i] {
					return from + uintptr(i), true
				}
			}
		}
		from += n
	}
	return 0, false
}

// Expected returns the bytes [from, to) of a poisoned (or zeroed) object.
func (l *Layout) Expected(from, to uintptr, poisoned bool) []byte {
	out := make([]byte, to-from)
	if !poisoned {
		return out
	}
	for _, r := range l.runs {
		lo, hi := max(r.off, from), min(r.off+r.n, to)
		for i := lo; i < hi; i++ {
			out[i-from] = Byte
		}
	}
	return out
}

// Bytes returns a copy of bytes [from, to) of the object at p.
func Bytes(p unsafe.Pointer, from, to uintptr) []byte {
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Add(p, from)), to-from)...)
}

// Field names the field of the layout's type that holds byte off, as a Go
// selector such as "Lines[2].Qty", and returns the field's byte range.
// Padding between fields is named "(padding after X)".
func (l *Layout) Field(off uintptr) (name string, from, to uintptr) {
	var path strings.Builder
	from, to = fieldAt(l.typ, off, 0, &path)
	return strings.TrimPrefix(path.String(), "."), from, to
}

func fieldAt(t reflect.Type, off, base uintptr, path *strings.Builder) (from, to uintptr) {
	switch t.Kind() {
	case reflect.Struct:
		prev := ""
		for i := range t.NumField() {
			f := t.Field(i)
			if off < f.Offset {
				break
			}
			if off < f.Offset+f.Type.Size() {
				path.WriteString("." + f.Name)
				return fieldAt(f.Type, off-f.Offset, base+f.Offset, path)
			}
			prev = f.Name
		}
		// In padding: name it after the field before it.
		if prev == "" {
			path.WriteString(".(padding)")
		} else {
			fmt.Fprintf(path, ".(padding after %s)", prev)
		}
		return base + off, base + off + 1
	case reflect.Array:
		if es := t.Elem().Size(); es > 0 {
			i := off / es
			fmt.Fprintf(path, "[%d]", i)
			return fieldAt(t.Elem(), off-i*es, base+i*es, path)
		}
	}
	return base, base + t.Size()
}

package poison

import (
	"encoding/binary"
	"reflect"
	"unsafe"
)

// Byte is the pattern of freed scalar bytes: SLUB's POISON_FREE.
const Byte = 0x6b

// The patterns of freed floating-point fields: signalling NaNs (exponent
// all ones, quiet bit clear, fraction non-zero) with 0x6b bytes in the
// fraction. Arithmetic on them yields quiet NaNs, whose bits differ.
const (
	Float64 uint64 = 0x7ff0_6b6b_6b6b_6b6b
	Float32 uint32 = 0x7f80_6b6b
)

// scalarImage returns the scalar bytes of a poisoned value of type t: Byte,
// with the float patterns in floating-point fields. Bytes of reference
// headers are included and unused.
func scalarImage(t reflect.Type) []byte {
	img := make([]byte, t.Size())
	for i := range img {
		img[i] = Byte
	}
	putFloats(img, t, 0)
	return img
}

// putFloats writes the float patterns of a value of type t at off into img.
func putFloats(img []byte, t reflect.Type, off uintptr) {
	switch t.Kind() {
	case reflect.Float32:
		binary.NativeEndian.PutUint32(img[off:], Float32)
	case reflect.Float64:
		binary.NativeEndian.PutUint64(img[off:], Float64)
	case reflect.Complex64:
		binary.NativeEndian.PutUint32(img[off:], Float32)
		binary.NativeEndian.PutUint32(img[off+4:], Float32)
	case reflect.Complex128:
		binary.NativeEndian.PutUint64(img[off:], Float64)
		binary.NativeEndian.PutUint64(img[off+8:], Float64)
	case reflect.Array:
		if t.Len() == 0 || !hasFloats(t.Elem()) {
			return
		}
		es := t.Elem().Size()
		for i := range t.Len() {
			putFloats(img, t.Elem(), off+uintptr(i)*es)
		}
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			putFloats(img, f.Type, off+f.Offset)
		}
	}
}

func hasFloats(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return t.Len() > 0 && hasFloats(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasFloats(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// fillScalars copies the poisoned image over the scalar bytes of the object
// at p. Byte copies are safe there: no pointer word lies in a run.
func (l *Layout) fillScalars(p unsafe.Pointer) {
	for _, r := range l.runs {
		copy(unsafe.Slice((*byte)(unsafe.Add(p, r.off)), r.n), l.image[r.off:r.off+r.n])
	}
}

// badScalar returns the offset of the first scalar byte of the object at p
// that differs from the poisoned image.
func (l *Layout) badScalar(p unsafe.Pointer) (uintptr, bool) {
	for _, r := range l.runs {
		b := unsafe.Slice((*byte)(unsafe.Add(p, r.off)), r.n)
		want := l.image[r.off : r.off+r.n]
		if string(b) == string(want) {
			continue
		}
		for i := range b {
			if b[i] != want[i] {
				return r.off + uintptr(i), true
			}
		}
	}
	return 0, false
}

// The legacy scheme, which slab's debug hooks use until they move to Poison
// and Verify: scalar bytes all Byte (floats too), reference headers zero.

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
// else. The object's reference headers must already be zero. Poison is its
// successor: it poisons the reference words too, and floats with NaNs.
func (l *Layout) Fill(p unsafe.Pointer) {
	for _, r := range l.runs {
		b := unsafe.Slice((*byte)(unsafe.Add(p, r.off)), r.n)
		for len(b) > 0 {
			b = b[copy(b, pattern[:]):]
		}
	}
}

// Find returns the offset of the first byte of the object at p that differs
// from its expected value: Byte in scalar bytes if poisoned (by Fill), else
// zero, and zero in reference headers. found is false if every byte is as
// expected. Find(p, false) checks that an object is zero, whichever way it
// was poisoned.
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

// Expected returns the bytes [from, to) of an object poisoned by Fill (or
// zeroed, if poisoned is false).
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

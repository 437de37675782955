package poison

import (
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/fault"
)

// Objects that a reset function readied for reuse (slab.WithReset) keep
// part of their contents while freed: the capacity of a slice, a map
// cleared rather than dropped. PoisonZero poisons the rest, what the reset
// left zero, and the caller keeps a copy of the object's bytes as the reset
// left them (the image): VerifyKept then checks that the kept part still
// holds what the image holds and the poisoned part its poison, and
// RestoreZero gives the poisoned part its zeroes back before reuse.
//
// The unit of the choice is a field: a reference (its whole header: a nil
// pointer, a nil slice, an empty string, a nil interface are poisoned; a
// slice of length 0 with a backing array is kept), a scalar field (an
// array without references counts as one), and each byte of padding.

// PoisonZero poisons what is zero in the object at p, whose bytes image
// holds: every reference whose header is all zero, pointed into a fault
// cell recorded as r, and every scalar field and padding byte that is
// zero, filled with the poison pattern. It leaves the rest as it is, and
// returns the cell, 0 if the type has no reference or none was zero.
func (l *Layout) PoisonZero(p unsafe.Pointer, r fault.Record, image []byte) fault.Cell {
	var c fault.Cell
	for i := range l.refs {
		ref := &l.refs[i]
		if !ref.zeroIn(image) {
			continue
		}
		if c == 0 {
			r.Fields = l.fields
			c = fault.Acquire(r)
		}
		ref.poison(p, c)
	}
	want := l.scalarsKept(image)
	for _, run := range l.runs {
		copy(unsafe.Slice((*byte)(unsafe.Add(p, run.off)), run.n), want[run.off:run.off+run.n])
	}
	return c
}

// scalarsKept returns the scalar bytes that an object poisoned by
// PoisonZero from image holds: the image's in the fields it kept, the
// poison's in those it left zero. Bytes outside the scalar runs are
// unused.
func (l *Layout) scalarsKept(image []byte) []byte {
	out := make([]byte, l.size)
	for _, run := range l.runs {
		for o := run.off; o < run.off+run.n; o++ { // padding, byte by byte
			out[o] = image[o]
			if image[o] == 0 {
				out[o] = l.image[o]
			}
		}
	}
	for _, f := range l.leaves {
		src := image
		if allZero(image[f.off : f.off+f.n]) {
			src = l.image
		}
		copy(out[f.off:f.off+f.n], src[f.off:f.off+f.n])
	}
	return out
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// zeroIn reports whether r's header is all zero in image.
func (r *ref) zeroIn(image []byte) bool { return allZero(image[r.off : r.off+headerSize(r.kind)]) }

// VerifyKept returns the offset of the first byte of the object at p,
// poisoned by PoisonZero with cell c from image, that differs from what it
// should hold: the image's byte where the object kept it, its poison where
// it was zero. found is false if the object is intact.
func (l *Layout) VerifyKept(p unsafe.Pointer, c fault.Cell, image []byte) (off uintptr, found bool) {
	first, bad := uintptr(0), false
	note := func(o uintptr) {
		if !bad || o < first {
			first, bad = o, true
		}
	}
	want := l.scalarsKept(image)
	for _, run := range l.runs {
		b := unsafe.Slice((*byte)(unsafe.Add(p, run.off)), run.n)
		for i := range b {
			if b[i] != want[run.off+uintptr(i)] {
				note(run.off + uintptr(i))
				break
			}
		}
	}
	for i := range l.refs {
		r := &l.refs[i]
		if r.zeroIn(image) {
			if o, ok := r.bad(p, c); ok {
				note(o)
			}
			continue
		}
		h := unsafe.Slice((*byte)(unsafe.Add(p, r.off)), headerSize(r.kind))
		for k := range h {
			if h[k] != image[r.off+uintptr(k)] {
				note(r.off + uintptr(k))
				break
			}
		}
	}
	return first, bad
}

// WantKept returns the bytes [from, to) that the object at p, poisoned by
// PoisonZero with cell c from image, should hold, for a report beside what
// it holds (Bytes).
func (l *Layout) WantKept(p unsafe.Pointer, c fault.Cell, image []byte, from, to uintptr) []byte {
	out := l.Want(p, c, from, to) // as if poisoned whole
	want := l.scalarsKept(image)
	for _, run := range l.runs {
		for o := max(run.off, from); o < min(run.off+run.n, to); o++ {
			out[o-from] = want[o]
		}
	}
	for i := range l.refs {
		r := &l.refs[i]
		if r.zeroIn(image) {
			continue
		}
		for o := max(r.off, from); o < min(r.off+headerSize(r.kind), to); o++ {
			out[o-from] = image[o]
		}
	}
	return out
}

// RestoreZero undoes PoisonZero on the object at p, which VerifyKept
// found intact: it holds the image again, the pointer words written with
// typed stores.
func (l *Layout) RestoreZero(p unsafe.Pointer, image []byte) {
	for i := range l.refs {
		r := &l.refs[i]
		if !r.zeroIn(image) {
			continue
		}
		// Pointer words with typed stores, lengths as integers.
		w := unsafe.Add(p, r.word)
		*(*unsafe.Pointer)(w) = nil
		switch r.kind {
		case kindSlice:
			*(*int)(unsafe.Add(w, ptrSize)) = 0
			*(*int)(unsafe.Add(w, 2*ptrSize)) = 0
		case kindString:
			*(*int)(unsafe.Add(w, ptrSize)) = 0
		case kindInterface:
			*(*unsafe.Pointer)(unsafe.Add(p, r.off)) = nil // the type word
		}
	}
	for _, run := range l.runs {
		copy(unsafe.Slice((*byte)(unsafe.Add(p, run.off)), run.n), image[run.off:run.off+run.n])
	}
}

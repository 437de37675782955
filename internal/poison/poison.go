package poison

import (
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/fault"
)

// Poison poisons the freed object at p: it takes a fault cell recorded as
// r (r.Fields is set to the layout's), points every reference word into
// it, and fills the scalar bytes. It returns the cell, which the caller
// keeps for Verify and gives back with fault.Release once the object is
// zeroed; types without reference words take no cell and get 0.
//
// p must be the object as the program left it, not zeroed: strings keep
// their length. Every word is overwritten but interface type words, so the
// object need not be zeroed first. Reference words are written with typed
// pointer stores, scalar bytes with byte copies.
func (l *Layout) Poison(p unsafe.Pointer, r fault.Record) fault.Cell {
	var c fault.Cell
	if len(l.refs) > 0 {
		r.Fields = l.fields
		c = fault.Acquire(r)
		l.poisonRefs(p, c)
	}
	l.fillScalars(p)
	return c
}

// Repoison poisons the object at p again with cell c, which Poison
// returned for it: after a write after free was reported (tracker.Check),
// so that the write is reported once.
func (l *Layout) Repoison(p unsafe.Pointer, c fault.Cell) {
	if len(l.refs) > 0 {
		l.poisonRefs(p, c)
	}
	l.fillScalars(p)
}

// poisonRefs points each reference word of the object at p into its window
// of cell c, or sets it to nil without a fault region.
//
// The address word is written before the lengths: a goroutine that reads
// the header while it changes (a race of the program's) then sees the
// poisoned address with the old length, and faults, rather than the old
// address with a new length, which would read past the old array.
func (l *Layout) poisonRefs(p unsafe.Pointer, c fault.Cell) {
	for i := range l.refs {
		l.refs[i].poison(p, c)
	}
}

// poison points the reference word r of the object at p into its window
// of cell c, or sets it to nil without a fault region.
func (r *ref) poison(p unsafe.Pointer, c fault.Cell) {
	w := unsafe.Add(p, r.word)
	a := c.Addr(r.win) // nil without a region
	// A typed pointer store: the write barrier sees both the old value,
	// which it may shade, and a, outside the heap, which it ignores.
	*(*unsafe.Pointer)(w) = a
	switch r.kind {
	case kindSlice:
		n := r.maxLen
		if a == nil {
			n = 0
		}
		*(*int)(unsafe.Add(w, ptrSize)) = n   // len
		*(*int)(unsafe.Add(w, 2*ptrSize)) = n // cap
	case kindString:
		lp := (*int)(unsafe.Add(w, ptrSize))
		*lp = r.poisonedLen(*lp, a != nil)
	case kindInterface:
		if a == nil {
			// Without a region the interface becomes nil: a non-pointer
			// dynamic type with a nil data word would be a value that
			// faults at address 0.
			*(*unsafe.Pointer)(unsafe.Add(p, r.off)) = nil
		}
	}
}

// poisonedLen is the length Poison gives a string that had length n.
func (r *ref) poisonedLen(n int, region bool) int {
	if !region {
		return 0
	}
	return min(max(n, 1), r.maxLen)
}

// Verify returns the offset of the first byte of the object at p, poisoned
// with cell c, that no longer holds its poison: a write after free. found
// is false if the object is intact. Interface type words are not checked:
// Go code cannot change one without its data word.
func (l *Layout) Verify(p unsafe.Pointer, c fault.Cell) (off uintptr, found bool) {
	sOff, sBad := l.badScalar(p)
	for i := range l.refs {
		if sBad && l.refs[i].off > sOff {
			break
		}
		if o, bad := l.refs[i].bad(p, c); bad {
			if !sBad || o < sOff {
				return o, true
			}
			break
		}
	}
	return sOff, sBad
}

// bad returns the offset of the first word of r in the object at p that
// differs from its poison.
func (r *ref) bad(p unsafe.Pointer, c fault.Cell) (uintptr, bool) {
	w := unsafe.Add(p, r.word)
	a := c.Addr(r.win)
	if *(*unsafe.Pointer)(w) != a {
		return r.word, true
	}
	switch r.kind {
	case kindSlice:
		n := r.maxLen
		if a == nil {
			n = 0
		}
		for k := uintptr(1); k <= 2; k++ {
			if *(*int)(unsafe.Add(w, k*ptrSize)) != n {
				return r.word + k*ptrSize, true
			}
		}
	case kindString:
		n := *(*int)(unsafe.Add(w, ptrSize))
		if n != r.poisonedLen(n, a != nil) {
			return r.word + ptrSize, true
		}
	case kindInterface:
		if a == nil && *(*unsafe.Pointer)(unsafe.Add(p, r.off)) != nil {
			return r.off, true
		}
	}
	return 0, false
}

// Want returns the bytes [from, to) that the object at p, poisoned with
// cell c, should hold: for a report of a write after free, beside what it
// holds (Bytes). Bytes that Verify does not check (interface type words)
// are given as found.
func (l *Layout) Want(p unsafe.Pointer, c fault.Cell, from, to uintptr) []byte {
	out := Bytes(p, from, to)
	put := func(off uintptr, v uintptr) {
		var word [ptrSize]byte
		*(*uintptr)(unsafe.Pointer(&word)) = v // in the machine's byte order
		for i := range ptrSize {
			if at := off + i; at >= from && at < to {
				out[at-from] = word[i]
			}
		}
	}
	for _, r := range l.runs {
		lo, hi := max(r.off, from), min(r.off+r.n, to)
		if lo < hi {
			copy(out[lo-from:hi-from], l.image[lo:hi])
		}
	}
	for i := range l.refs {
		r := &l.refs[i]
		if r.off >= to || r.off+headerSize(r.kind) <= from {
			continue
		}
		a := c.Addr(r.win)
		put(r.word, uintptr(a))
		w := unsafe.Add(p, r.word)
		switch r.kind {
		case kindSlice:
			n := uintptr(r.maxLen)
			if a == nil {
				n = 0
			}
			put(r.word+ptrSize, n)
			put(r.word+2*ptrSize, n)
		case kindString:
			put(r.word+ptrSize, uintptr(r.poisonedLen(*(*int)(unsafe.Add(w, ptrSize)), a != nil)))
		case kindInterface:
			if a == nil {
				put(r.off, 0)
			}
		}
	}
	return out
}

func headerSize(k refKind) uintptr {
	switch k {
	case kindSlice:
		return 3 * ptrSize
	case kindString, kindInterface:
		return 2 * ptrSize
	}
	return ptrSize
}

package slabjson

import (
	"reflect"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/typed"
)

// A scratch holds the elements of the arrays of one element type being
// decoded, until each array ends and its elements move into the scope: a
// stack, since arrays of one type may nest (a type that holds slices of
// itself), in blocks that never move, so that a pointer to an element being
// decoded stays valid while nested arrays push more. Elements above the
// top are zero: each array's elements are zeroed as they leave.
type scratch struct {
	p      *plan
	blocks []unsafe.Pointer // each an array of 1<<shift elements
	shift  uint
	n      int // elements in use
}

// scratchBlockBytes is about the size of a block.
const scratchBlockBytes = 4 << 10

// keptScratchBytes bounds the scratch memory of one element type that a
// decoding state keeps for its next call.
const keptScratchBytes = 64 << 10

// scratchOf returns the scratch of the element plan p.
func (d *decodeState) scratchOf(p *plan) *scratch {
	if sc := d.scratch[p]; sc != nil {
		return sc
	}
	sc := &scratch{p: p}
	for uintptr(1)<<(sc.shift+1)*p.size <= scratchBlockBytes && sc.shift < 10 {
		sc.shift++
	}
	if d.scratch == nil {
		d.scratch = make(map[*plan]*scratch)
	}
	d.scratch[p] = sc
	return sc
}

// push returns a zeroed element on top of the stack.
func (sc *scratch) push() unsafe.Pointer {
	b, k := sc.n>>sc.shift, sc.n&(1<<sc.shift-1)
	if b == len(sc.blocks) {
		n := 1 << sc.shift
		sc.blocks = append(sc.blocks, reflect.MakeSlice(reflect.SliceOf(sc.p.typ), n, n).UnsafePointer())
	}
	sc.n++
	return unsafe.Add(sc.blocks[b], uintptr(k)*sc.p.size)
}

// pop zeroes the elements from base up and drops them.
func (sc *scratch) pop(base int) {
	sc.each(base, func(p unsafe.Pointer, n int) {
		size := uintptr(n) * sc.p.size
		if sc.p.ptrs {
			typed.ClearPointers(p, size)
		} else {
			clear(unsafe.Slice((*byte)(p), size))
		}
	})
	sc.n = base
}

// moveTo copies the elements from base up to dst, in order, and pops them.
func (sc *scratch) moveTo(dst unsafe.Pointer, base int) {
	sc.each(base, func(p unsafe.Pointer, n int) {
		if sc.p.ptrs {
			typed.Copy(sc.p.rtype, dst, p, n)
		} else {
			copy(unsafe.Slice((*byte)(dst), uintptr(n)*sc.p.size), unsafe.Slice((*byte)(p), uintptr(n)*sc.p.size))
		}
		dst = unsafe.Add(dst, uintptr(n)*sc.p.size)
	})
	sc.pop(base)
}

// each calls f with each run of elements from base up within one block.
func (sc *scratch) each(base int, f func(p unsafe.Pointer, n int)) {
	for i := base; i < sc.n; {
		b, k := i>>sc.shift, i&(1<<sc.shift-1)
		n := min(1<<sc.shift-k, sc.n-i)
		f(unsafe.Add(sc.blocks[b], uintptr(k)*sc.p.size), n)
		i += n
	}
}

// trim drops the blocks past what a state keeps for its next call.
func (sc *scratch) trim() {
	keep := max(1, keptScratchBytes/int(uintptr(1)<<sc.shift*sc.p.size))
	if len(sc.blocks) > keep {
		clear(sc.blocks[keep:])
		sc.blocks = sc.blocks[:keep]
	}
}

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
// decoded stays valid while nested arrays push more. Each block is twice
// the size of the one before, up to scratchMaxBlock bytes, so a long array
// takes few of them. Elements above the top are zero: each array's
// elements are zeroed as they leave.
type scratch struct {
	p      *plan
	blocks []scratchBlock
	top    int // the block that holds the top of the stack
	n      int // elements in use
}

// A scratchBlock is an array of n elements, the stack's elements from
// start on.
type scratchBlock struct {
	p        unsafe.Pointer
	start, n int
}

const (
	// scratchMinBlock is about the size of the first block.
	scratchMinBlock = 2 << 10
	// scratchMaxBlock bounds the size of a block.
	scratchMaxBlock = 1 << 20
	// keptScratchBytes bounds the scratch memory of one element type that
	// a decoding state keeps for its next call.
	keptScratchBytes = 64 << 10
)

// scratchOf returns the scratch of the element plan p.
func (d *decodeState) scratchOf(p *plan) *scratch {
	if sc := d.scratch[p]; sc != nil {
		return sc
	}
	sc := &scratch{p: p}
	if d.scratch == nil {
		d.scratch = make(map[*plan]*scratch)
	}
	d.scratch[p] = sc
	return sc
}

// push returns a zeroed element on top of the stack.
func (sc *scratch) push() unsafe.Pointer {
	if len(sc.blocks) == 0 || sc.n == sc.blocks[sc.top].start+sc.blocks[sc.top].n {
		sc.grow()
	}
	b := &sc.blocks[sc.top]
	k := sc.n - b.start
	sc.n++
	return unsafe.Add(b.p, uintptr(k)*sc.p.size)
}

// grow makes the block after the top one the top, making it if there is
// none.
func (sc *scratch) grow() {
	if len(sc.blocks) > 0 && sc.top+1 < len(sc.blocks) {
		sc.top++
		return
	}
	n := max(1, int(scratchMinBlock/sc.p.size))
	if k := len(sc.blocks); k > 0 {
		last := sc.blocks[k-1]
		n = max(n, min(2*last.n, int(scratchMaxBlock/sc.p.size)))
	}
	start := 0
	if k := len(sc.blocks); k > 0 {
		start = sc.blocks[k-1].start + sc.blocks[k-1].n
	}
	sc.blocks = append(sc.blocks, scratchBlock{reflect.MakeSlice(reflect.SliceOf(sc.p.typ), n, n).UnsafePointer(), start, n})
	sc.top = len(sc.blocks) - 1
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
	sc.top = sc.blockOf(base)
}

// blockOf returns the block that holds position i, or the last block if i
// is past them all.
func (sc *scratch) blockOf(i int) int {
	k := min(sc.top, len(sc.blocks)-1)
	for k > 0 && sc.blocks[k].start > i {
		k--
	}
	for k+1 < len(sc.blocks) && sc.blocks[k+1].start <= i {
		k++
	}
	return max(k, 0)
}

// moveTo copies the elements from base up to dst, in order, and pops them.
func (sc *scratch) moveTo(dst unsafe.Pointer, base int) {
	// An offset, not a moving pointer: one past the end of dst would be a
	// pointer the garbage collector may find in no object.
	off := uintptr(0)
	sc.each(base, func(p unsafe.Pointer, n int) {
		to := unsafe.Add(dst, off)
		if sc.p.ptrs {
			typed.Copy(sc.p.rtype, to, p, n)
		} else {
			copy(unsafe.Slice((*byte)(to), uintptr(n)*sc.p.size), unsafe.Slice((*byte)(p), uintptr(n)*sc.p.size))
		}
		off += uintptr(n) * sc.p.size
	})
	sc.pop(base)
}

// each calls f with each run of elements from base up within one block,
// in order.
func (sc *scratch) each(base int, f func(p unsafe.Pointer, n int)) {
	if base >= sc.n {
		return
	}
	for k := sc.blockOf(base); k < len(sc.blocks); k++ {
		b := sc.blocks[k]
		if b.start >= sc.n {
			return
		}
		lo, hi := max(base, b.start), min(sc.n, b.start+b.n)
		f(unsafe.Add(b.p, uintptr(lo-b.start)*sc.p.size), hi-lo)
	}
}

// trim drops the blocks past what a state keeps for its next call.
func (sc *scratch) trim() {
	bytes := uintptr(0)
	for k, b := range sc.blocks {
		bytes += uintptr(b.n) * sc.p.size
		if bytes > keptScratchBytes && k > 0 {
			clear(sc.blocks[k:])
			sc.blocks = sc.blocks[:k]
			break
		}
	}
	sc.top = 0
}

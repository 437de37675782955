//go:build slabdebug

package slab

import (
	"fmt"
	"sync/atomic"
	"weak"

	"github.com/slabtrack/slabtrack/internal/clock"
	"github.com/slabtrack/slabtrack/internal/violation"
)

// Released slabs (debug builds). A slab that Trim or the automatic trim
// releases leaves the address map, so a Free or RefOf of a stale pointer
// into it finds no slab, and a stale Ref finds another slab or none. To
// report those with the object's stacks, as AddressSanitizer reports a
// pointer into a freed region, the pool keeps the debug records of its
// latest released slabs.
//
// A stale pointer into a released slab keeps the slab's memory alive, as any
// Go pointer does, so its address cannot belong to anything else while the
// pointer exists: a record applies to an address only while the slab is
// still in memory, which a weak pointer tells. Records hold no pointer to
// the slab. The pool keeps at most maxTrimmed records, and forgets those
// whose slab the garbage collector has collected whenever it adds one; the
// records of a slab take 48 bytes per slot.

// maxTrimmed bounds the records of released slabs a pool keeps.
const maxTrimmed = 32

// trimmedSlab is the record of a released slab.
type trimmedSlab[T any] struct {
	base, limit uintptr
	pos         int
	slots       []slotDebug
	gens        *[]atomic.Uint32 // the slab's Ref generations, or nil
	mem         weak.Pointer[T]  // the slab's first slot: nil once the slab is collected
	releasedAt  int64
}

// debugTrimmedLocked keeps the records of s, which is being released;
// p.mu is held.
func (p *Pool[T]) debugTrimmedLocked(s *slab[T]) {
	if g := s.dbg.guard; g != nil {
		// A guard slab is never unmapped: retired, its pages fault,
		// and fault reports say that its slab was released. The next
		// guard slab of its length reuses it, so no record of it can
		// be trusted; none is kept.
		_ = g.Retire()
		return
	}
	kept := p.dbg.released[:0]
	for _, r := range p.dbg.released {
		if r.mem.Value() != nil {
			kept = append(kept, r)
		}
	}
	clear(p.dbg.released[len(kept):])
	if len(kept) == maxTrimmed {
		copy(kept, kept[1:])
		kept = kept[:maxTrimmed-1]
	}
	p.dbg.released = append(kept, trimmedSlab[T]{
		base:       s.meta.Base,
		limit:      s.meta.Limit,
		pos:        s.pos,
		slots:      s.dbg.slots,
		gens:       s.gens.Load(),
		mem:        weak.Make(&s.mem[0]),
		releasedAt: clock.Now(),
	})
}

// describeTrimmed fills in v, a Free or RefOf (o) of addr, which lies in
// no slab, if addr lies in a released slab of this pool that is still in
// memory, and reports whether it did.
func (p *Pool[T]) describeTrimmed(v *violation.Violation, addr uintptr, o op) bool {
	p.mu.Lock()
	var rec *trimmedSlab[T]
	for k := range p.dbg.released {
		r := &p.dbg.released[k]
		if r.base <= addr && addr < r.limit && r.mem.Value() != nil {
			rec = r
		}
	}
	if rec == nil {
		p.mu.Unlock()
		return false
	}
	r := *rec
	p.mu.Unlock()

	now := clock.Now()
	i := int((addr - r.base) / p.size)
	off := (addr - r.base) % p.size
	d := &r.slots[i]
	v.Slot = r.pos*p.nelems + i
	where := fmt.Sprintf("slot %d", v.Slot)
	if off != 0 {
		where = fmt.Sprintf("%d bytes into slot %d", off, v.Slot)
	}
	what := "the slot's last object, shown below, was freed before that: this is a use of a stale pointer"
	if o == opFree && off == 0 {
		what = "the slot's last object, shown below, was freed before that: this Free is a double free through a stale pointer"
	}
	if d.serial.Load() == 0 {
		what = "the slot was never allocated"
	} else {
		fillRecord(v, d, now)
	}
	v.Detail = fmt.Sprintf("it points to %s of a slab of this pool that Trim released %v ago; %s", where, violation.RoundAge(clock.Since(now, r.releasedAt)), what)
	v.Err = p.releasedSlabError(addr, o)
	return true
}

// describeTrimmedRef fills in v, a stale Ref into slot i of position pos,
// if the Ref's object was in a released slab whose records the pool keeps,
// and reports whether it did.
func (p *Pool[T]) describeTrimmedRef(v *violation.Violation, ref Ref[T], pos int, i uint32) bool {
	p.mu.Lock()
	var rec *trimmedSlab[T]
	for k := range p.dbg.released {
		r := &p.dbg.released[k]
		// Generations at a position only grow, from slab to slab: the
		// Ref's slab is the first whose final generation passed it.
		if r.pos == pos && r.gens != nil && (*r.gens)[i].Load() > ref.gen {
			rec = r
			break
		}
	}
	if rec == nil {
		p.mu.Unlock()
		return false
	}
	r := *rec
	p.mu.Unlock()

	now := clock.Now()
	v.Detail = fmt.Sprintf("Ref %v: its slab was released by Trim %v ago; the object was freed before that", ref, violation.RoundAge(clock.Since(now, r.releasedAt)))
	if (*r.gens)[i].Load() == ref.gen+1 {
		fillRecord(v, &r.slots[i], now)
	} else {
		v.Detail += fmt.Sprintf(", and its slot held %d object(s) after it", (*r.gens)[i].Load()-ref.gen-1)
	}
	return true
}

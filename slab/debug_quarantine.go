//go:build slabdebug

package slab

import (
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/fault"
	"github.com/slabtrack/slabtrack/internal/poison"
	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/internal/violation"
)

// The quarantine (debug builds): a bounded FIFO of freed slots per pool,
// poisoned, that delays their reuse so that a write after free is found in
// the poison, and so that a stale Free through an old pointer finds its slot
// still free rather than handed to a new owner. A slot leaves it only when
// qcap newer frees have pushed it out, or when Trim or the idle trim empty
// it: the pool grows rather than reuse a slot early, by at most qcap slots
// (qcap × the size of T, plus a 32-byte ring entry each, per pool).

// qent is a quarantine entry: a slot, or a shadow object (h and sh set),
// and how it was poisoned (see poisonFreed).
type qent[T any] struct {
	r  slotRef[T]
	h  *T
	sh *shadow[T]
	// cell is the fault cell the object's reference words point into, 0
	// if none; image is, for a pool with a reset function, the object as
	// the reset left it, before the poison. guarded is set while the
	// slot's pages are protected instead.
	cell    fault.Cell
	image   []byte
	guarded bool
}

// enqueue adds e to the quarantine. When the quarantine is full, the oldest
// entry leaves it: its slot goes back to its slab under p.mu (lock order:
// p.mu, then qmu), so that takeLocked, which holds p.mu, finds every free
// slot either in a slab or in the quarantine, never between the two.
func (p *Pool[T]) enqueue(e qent[T]) {
	d := &p.dbg
	d.qmu.Lock()
	if d.ring == nil {
		d.ring = make([]qent[T], d.qcap)
	}
	if d.n < len(d.ring) {
		d.pushQLocked(e)
		d.qmu.Unlock()
		return
	}
	d.qmu.Unlock()

	p.mu.Lock()
	d.qmu.Lock()
	var out qent[T]
	evict := d.n == len(d.ring)
	if evict {
		out = d.popQLocked()
	}
	d.pushQLocked(e)
	d.qmu.Unlock()
	var v *violation.Violation
	if evict {
		v = p.leaveLocked(out, "Free", "found when newer frees pushed the slot out of the quarantine")
	}
	p.mu.Unlock()
	if v != nil {
		violation.Report(v) // the pool is consistent again
	}
}

// pushQLocked adds e as the newest entry; d.qmu is held and there is room.
func (d *poolDebug[T]) pushQLocked(e qent[T]) {
	d.ring[(d.head+d.n)%len(d.ring)] = e
	d.n++
}

// popQLocked takes the oldest entry out of the quarantine; d.qmu is held.
func (d *poolDebug[T]) popQLocked() qent[T] {
	e := d.ring[d.head]
	d.ring[d.head] = qent[T]{}
	d.head = (d.head + 1) % len(d.ring)
	d.n--
	return e
}

const freedWrite = "the object was written after it was freed; "

// leaveLocked verifies the poison of e, an entry taken out of the
// quarantine by the call op, zeroes it, and gives its slot back to its
// slab; p.mu is held. It returns the write after free found, if any, for
// the caller to report once the pool is unlocked.
func (p *Pool[T]) leaveLocked(e qent[T], op, found string) *violation.Violation {
	var v *violation.Violation
	if e.h != nil {
		if asan.Enabled {
			asan.Unpoison(unsafe.Pointer(e.h), unsafe.Sizeof(*e.h))
		}
		dm, bad := p.damaged(&e, e.h)
		if bad {
			v = p.shadowWriteAfterFree(e.sh, e.h, dm, op, freedWrite+found)
		}
		p.unpoison(&e, e.h, bad)
		if asan.Enabled {
			asan.Poison(unsafe.Pointer(e.h), unsafe.Sizeof(*e.h)) // a stale pointer may still reach it
		}
		e.sh.state.Store(dFree)
		return v
	}
	d := &e.r.s.dbg.slots[e.r.i]
	x := e.r.ptr()
	if e.guarded {
		// Nothing can have written the object: its pages were
		// inaccessible. Unprotected, they read as zero, or as the reset
		// left them.
		if err := e.r.s.dbg.guard.Unprotect(int(e.r.i)); err != nil {
			p.retireLocked(e.r, d)
			return nil
		}
	} else {
		if asan.Enabled {
			asan.Unpoison(unsafe.Pointer(x), p.size)
		}
		dm, bad := p.damaged(&e, x)
		if bad {
			v = p.writeAfterFree(e.r, d, dm, op, freedWrite+found)
		}
		p.unpoison(&e, x, bad)
		if asan.Enabled {
			asan.Poison(unsafe.Pointer(x), p.size) // free, until it is handed out again
		}
	}
	race.ReleaseMerge(unsafe.Pointer(x))
	d.state.Store(dFree)
	p.dbg.held.Add(-1)
	p.returnWordLocked(e.r.s, e.r.i&^63, 1<<(e.r.i%64))
	p.slowFrees++ // counted as freed while held, see Stats
	return v
}

// retireLocked takes the quarantined slot r, whose guard page the kernel
// would not make accessible again, out of use for good, as a slot whose Ref
// generations ran out: it stays assigned and counts as retired. p.mu is
// held.
func (p *Pool[T]) retireLocked(r slotRef[T], d *slotDebug) {
	*r.st() = stateRetired
	d.state.Store(dRetired)
	p.dbg.held.Add(-1)
	p.retired++
	p.slowFrees++
}

// A damage is a write after free found in a quarantined object: the field
// written, the offset of its first byte, and its bytes found and expected.
type damage struct {
	field     string
	from      uintptr
	got, want []byte
}

// damaged verifies the poison of the quarantined object x (entry e, not
// guarded), and describes the first write after free it finds.
func (p *Pool[T]) damaged(e *qent[T], x *T) (dm damage, bad bool) {
	l, at := p.dbg.layout, unsafe.Pointer(x)
	var off uintptr
	if e.image != nil {
		off, bad = l.VerifyKept(at, e.cell, e.image)
	} else {
		off, bad = l.Verify(at, e.cell)
	}
	if !bad {
		return damage{}, false
	}
	name, from, to := l.Field(off)
	dm = damage{field: name, from: from, got: poison.Bytes(at, from, to)}
	if e.image != nil {
		dm.want = l.WantKept(at, e.cell, e.image, from, to)
	} else {
		dm.want = l.Want(at, e.cell, from, to)
	}
	return dm, true
}

// unpoison readies the quarantined object x (entry e, not guarded) for
// reuse: zeroed, or, with a reset function, as the reset left it; after a
// write after free (bad), zeroed in either case, which a reset pool's Alloc
// may return too. The fault cell goes back to the ring.
func (p *Pool[T]) unpoison(e *qent[T], x *T, bad bool) {
	if e.image != nil && !bad {
		p.dbg.layout.RestoreZero(unsafe.Pointer(x), e.image)
	} else {
		var zero T
		*x = zero // a typed store: the write barriers see the poisoned words, outside the heap, and ignore them
	}
	fault.Release(e.cell)
	if e.image != nil {
		p.dbg.putImage(e.image)
	}
}

// debugFlushQuarantine empties the quarantine, as Trim and the idle trim
// do: slots in it would keep their slabs from being released. The writes
// after free that it finds are reported once the pool is unlocked, on the
// caller's goroutine (the trim clock's goroutine for the idle trim),
// marked as found by op.
func (p *Pool[T]) debugFlushQuarantine(op string) {
	var vs []*violation.Violation
	p.mu.Lock()
	for {
		var more bool
		vs, more = p.debugUnquarantineLocked(vs, op)
		if !more {
			break
		}
	}
	p.mu.Unlock()
	for _, v := range vs {
		violation.Report(v)
	}
}

// debugUnquarantineLocked gives the oldest entries of the quarantine back,
// up to a word's worth of slots, appends the writes after free it finds to
// vs, and reports whether it freed any slot.
func (p *Pool[T]) debugUnquarantineLocked(vs []*violation.Violation, op string) ([]*violation.Violation, bool) {
	d := &p.dbg
	k := 0
	d.qmu.Lock()
	defer d.qmu.Unlock()
	for d.n > 0 && k < 64 {
		e := d.popQLocked()
		if v := p.leaveLocked(e, op, "found when "+op+" emptied the quarantine"); v != nil {
			vs = append(vs, v)
		}
		if e.h == nil {
			k++
		}
	}
	return vs, k > 0
}

// debugCheckQuarantine verifies the poison of every entry in the
// quarantine and returns the writes after free it finds, poisoning the
// slots again so that each write is found once. It reports nothing:
// tracker.Check and /debug/slab do.
func (p *Pool[T]) debugCheckQuarantine() []error {
	const found = "found by a check of the quarantine while the slot was in it"
	d := &p.dbg
	var vs []error
	d.qmu.Lock()
	defer d.qmu.Unlock()
	for k := range d.n {
		e := &d.ring[(d.head+k)%len(d.ring)]
		if e.guarded {
			continue // inaccessible: nothing can have written it
		}
		x, sh := e.h, e.sh
		if x == nil {
			x = e.r.ptr()
		}
		if asan.Enabled {
			asan.Unpoison(unsafe.Pointer(x), unsafe.Sizeof(*x))
		}
		dm, bad := p.damaged(e, x)
		if !bad {
			if asan.Enabled {
				asan.Poison(unsafe.Pointer(x), unsafe.Sizeof(*x))
			}
			continue
		}
		if sh != nil {
			vs = append(vs, p.shadowWriteAfterFree(sh, x, dm, "Check", freedWrite+found))
		} else {
			vs = append(vs, p.writeAfterFree(e.r, &e.r.s.dbg.slots[e.r.i], dm, "Check", freedWrite+found))
		}
		// Poison it again, whole, so that the write is found once: an
		// object that a reset readied loses what the reset kept, and
		// its next user gets a zero T.
		if e.image != nil {
			var zero T
			*x = zero
			d.putImage(e.image)
			e.image = nil
		}
		if e.cell == 0 && d.layout.HasRefs() {
			e.cell = fault.Acquire(p.recordOf(e))
		}
		d.layout.Repoison(unsafe.Pointer(x), e.cell)
		if asan.Enabled {
			asan.Poison(unsafe.Pointer(x), unsafe.Sizeof(*x))
		}
	}
	return vs
}

// recordOf returns the fault record of the object of quarantine entry e.
func (p *Pool[T]) recordOf(e *qent[T]) fault.Record {
	r := e.r
	if e.sh != nil {
		return fault.Record{Pool: p.regID, Slot: p.slotNum(e.sh.r), Serial: e.sh.slotSerial, Fields: p.dbg.layout.Fields()}
	}
	return fault.Record{Pool: p.regID, Slot: p.slotNum(r), Serial: r.s.dbg.slots[r.i].serial.Load(), Fields: p.dbg.layout.Fields()}
}

//go:build slabdebug

package slab

import (
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/tracker"
)

// The quarantine (debug builds): a bounded FIFO of freed slots per pool,
// poisoned, that delays their reuse so that a write after free is found in
// the poison, and so that a stale Free through an old pointer finds its slot
// still free rather than handed to a new owner. A slot leaves it only when
// qcap newer frees have pushed it out, or when Trim or the idle trim empty
// it: the pool grows rather than reuse a slot early, by at most qcap slots
// (qcap × the size of T, plus a 32-byte ring entry each, per pool).

// qent is a quarantine entry: a slot, or a shadow object (h and sh set).
type qent[T any] struct {
	r  slotRef[T]
	h  *T
	sh *shadow[T]
}

// enqueue adds e to the quarantine. When the quarantine is full, the oldest
// entry leaves it: its slot goes back to its span under p.mu (lock order:
// p.mu, then qmu), so that takeLocked, which holds p.mu, finds every free
// slot either in a span or in the quarantine, never between the two.
func (p *Pool[T]) enqueue(e qent[T]) {
	d := &p.dbg
	d.qmu.Lock()
	if d.ring == nil {
		d.ring = make([]qent[T], d.qcap)
	}
	if d.n < len(d.ring) {
		d.pushLocked(e)
		d.qmu.Unlock()
		return
	}
	d.qmu.Unlock()

	p.mu.Lock()
	d.qmu.Lock()
	var out qent[T]
	evict := d.n == len(d.ring)
	if evict {
		out = d.popLocked()
	}
	d.pushLocked(e)
	d.qmu.Unlock()
	var v *tracker.Violation
	if evict {
		v = p.leaveLocked(out, "Free", "found when newer frees pushed the slot out of the quarantine")
	}
	p.mu.Unlock()
	if v != nil {
		tracker.Report(v) // the pool is consistent again
	}
}

// pushLocked adds e as the newest entry; d.qmu is held and there is room.
func (d *poolDebug[T]) pushLocked(e qent[T]) {
	d.ring[(d.head+d.n)%len(d.ring)] = e
	d.n++
}

// popLocked takes the oldest entry out of the quarantine; d.qmu is held.
func (d *poolDebug[T]) popLocked() qent[T] {
	e := d.ring[d.head]
	d.ring[d.head] = qent[T]{}
	d.head = (d.head + 1) % len(d.ring)
	d.n--
	return e
}

const freedWrite = "the object was written after it was freed; "

// leaveLocked verifies the poison of e, an entry taken out of the
// quarantine by the call op, zeroes it, and gives its slot back to its
// span; p.mu is held. It returns the write after free found, if any, for
// the caller to report once the pool is unlocked.
func (p *Pool[T]) leaveLocked(e qent[T], op, found string) *tracker.Violation {
	var v *tracker.Violation
	var zero T
	if e.h != nil {
		if off, bad := p.dbg.layout.Find(unsafe.Pointer(e.h), true); bad {
			v = p.shadowWriteAfterFree(e.sh, e.h, off, op, freedWrite+found)
		}
		*e.h = zero
		e.sh.state.Store(dFree)
		return v
	}
	d := &e.r.s.dbg.slots[e.r.i]
	x := e.r.ptr()
	// With a reset function (WithReset), what it kept is the next user's:
	// the object was neither poisoned nor zeroed, and stays as it is.
	if p.reset == nil {
		if off, bad := p.dbg.layout.Find(unsafe.Pointer(x), true); bad {
			v = p.writeAfterFree(e.r, d, off, true, op, freedWrite+found)
		}
		*x = zero
	}
	race.ReleaseMerge(unsafe.Pointer(x))
	d.state.Store(dFree)
	p.dbg.held.Add(-1)
	p.returnWordLocked(e.r.s, e.r.i&^63, 1<<(e.r.i%64))
	p.slowFrees++ // counted as freed while held, see Stats
	return v
}

// debugFlushQuarantine empties the quarantine, as Trim and the idle trim
// do: slots in it would keep their slabs from being released. The writes
// after free that it finds are reported once the pool is unlocked, on the
// caller's goroutine (the runtime's cleanup goroutine for the idle trim),
// marked as found by op.
func (p *Pool[T]) debugFlushQuarantine(op string) {
	var vs []*tracker.Violation
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
		tracker.Report(v)
	}
}

// debugUnquarantineLocked gives the oldest entries of the quarantine back,
// up to a word's worth of slots, appends the writes after free it finds to
// vs, and reports whether it freed any slot.
func (p *Pool[T]) debugUnquarantineLocked(vs []*tracker.Violation, op string) ([]*tracker.Violation, bool) {
	d := &p.dbg
	k := 0
	d.qmu.Lock()
	defer d.qmu.Unlock()
	for d.n > 0 && k < 64 {
		e := d.popLocked()
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
		e := d.ring[(d.head+k)%len(d.ring)]
		x, sh := e.h, e.sh
		if x == nil {
			x = e.r.ptr()
		}
		off, bad := d.layout.Find(unsafe.Pointer(x), true)
		if !bad || p.reset != nil {
			continue
		}
		if sh != nil {
			vs = append(vs, p.shadowWriteAfterFree(sh, x, off, "Check", freedWrite+found))
		} else {
			vs = append(vs, p.writeAfterFree(e.r, &e.r.s.dbg.slots[e.r.i], off, true, "Check", freedWrite+found))
		}
		var zero T
		*x = zero
		d.layout.Fill(unsafe.Pointer(x))
	}
	return vs
}

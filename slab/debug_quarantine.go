//go:build slabdebug

package slab

import (
	"errors"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/tracker"
)

// The quarantine (debug builds): a bounded FIFO of freed slots per pool,
// poisoned, that delays their reuse so that a write after free is found in
// the poison, and so that a stale Free through an old pointer finds its slot
// still free rather than handed to a new owner. A slot leaves it only when
// qcap newer frees have pushed it out, or when Trim or the idle trim empty
// it: the pool grows rather than reuse a slot early, by at most qcap slots.

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
		v = p.leaveLocked(out)
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

const leftDetail = "the object was written after it was freed; detected when it left the quarantine"

// leaveLocked verifies the poison of e, an entry taken out of the
// quarantine, zeroes it, and gives its slot back to its span; p.mu is held.
// It returns the write after free found, if any, for the caller to report
// once the pool is unlocked.
func (p *Pool[T]) leaveLocked(e qent[T]) *tracker.Violation {
	var v *tracker.Violation
	var zero T
	if e.h != nil {
		if off, bad := p.dbg.layout.Find(unsafe.Pointer(e.h), true); bad {
			v = p.shadowWriteAfterFree(e.sh, e.h, off, leftDetail)
		}
		*e.h = zero
		e.sh.state.Store(dFree)
		return v
	}
	d := &e.r.s.dbg.slots[e.r.i]
	x := e.r.ptr()
	if p.reset != nil {
		// What reset kept is the next user's: it is neither poisoned
		// nor zeroed.
		x = new(T)
	}
	if off, bad := p.dbg.layout.Find(unsafe.Pointer(x), true); bad && p.reset == nil {
		v = p.writeAfterFree(e.r, d, off, true, leftDetail)
	}
	*x = zero
	race.ReleaseMerge(unsafe.Pointer(x))
	d.state.Store(dFree)
	p.dbg.held.Add(-1)
	p.returnWordLocked(e.r.s, e.r.i&^63, 1<<(e.r.i%64))
	p.slowFrees++ // counted as freed while held, see Stats
	return v
}

// debugFlushQuarantine empties the quarantine, as Trim and the idle trim
// do: slots in it would keep their slabs from being released. Writes after
// free that it finds are reported at the pool's next Alloc or Free, or by
// Check: the idle trim runs on the runtime's cleanup goroutine.
func (p *Pool[T]) debugFlushQuarantine() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.debugUnquarantineLocked() {
	}
}

// debugUnquarantineLocked gives the oldest entries of the quarantine back,
// up to a word's worth of slots, and reports whether it freed any slot.
func (p *Pool[T]) debugUnquarantineLocked() bool {
	d := &p.dbg
	k := 0
	d.qmu.Lock()
	defer d.qmu.Unlock()
	for d.n > 0 && k < 64 {
		e := d.popLocked()
		if v := p.leaveLocked(e); v != nil {
			p.postpone(v)
		}
		if e.h == nil {
			k++
		}
	}
	return k > 0
}

// postpone keeps v for the pool's next Alloc or Free, or Check, to report.
func (p *Pool[T]) postpone(v *tracker.Violation) {
	p.dbg.pmu.Lock()
	p.dbg.pending = append(p.dbg.pending, v)
	p.dbg.hasPending.Store(true)
	p.dbg.pmu.Unlock()
}

// takePending returns the violations kept by postpone, and forgets them.
func (p *Pool[T]) takePending() []*tracker.Violation {
	if !p.dbg.hasPending.Load() {
		return nil
	}
	p.dbg.pmu.Lock()
	vs := p.dbg.pending
	p.dbg.pending = nil
	p.dbg.hasPending.Store(false)
	p.dbg.pmu.Unlock()
	return vs
}

// reportPending reports the violations kept by postpone, on the goroutine of
// an Alloc or Free of the pool.
func (p *Pool[T]) reportPending() {
	for _, v := range p.takePending() {
		tracker.Report(v)
	}
}

func (p *Pool[T]) debugCheckQuarantine() error {
	const detail = "the object was written after it was freed; detected by tracker.Check while it was in the quarantine"
	d := &p.dbg
	var vs []error
	for _, v := range p.takePending() {
		vs = append(vs, v)
	}
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
			vs = append(vs, p.shadowWriteAfterFree(sh, x, off, detail))
		} else {
			vs = append(vs, p.writeAfterFree(e.r, &e.r.s.dbg.slots[e.r.i], off, true, detail))
		}
		// Poison it again, so that the write is reported once.
		var zero T
		*x = zero
		d.layout.Fill(unsafe.Pointer(x))
	}
	return errors.Join(vs...)
}

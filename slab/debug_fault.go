//go:build slabdebug

package slab

import (
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/registry"
	"github.com/slabtrack/slabtrack/internal/stack"
)

// Faults on freed objects (debug builds). Free poisons a freed object's
// reference words with addresses in package fault's region, recorded as
// this pool's (Pool.regID), the slot and its allocation count, or protects
// its guard page; a read through such a word, or of the page, faults, and
// package tracker asks the pool for the object's stacks: DescribeFault.

func (p *Pool[T]) debugGuardFallbacks() uint64 { return p.dbg.guardFallbacks.Load() }

// debugDescribeFault describes slot as it was when the object whose
// allocation count was serial was freed (0: the slot's last free). It is
// called from the goroutine that faulted, which may have been stopped
// anywhere: it reads the slot's record with atomics, and takes only the
// lock of the drop-detection shadows, which no call holds while it touches
// an object.
func (p *Pool[T]) debugDescribeFault(slot int, serial uint32) registry.FaultSlot {
	if slot < 0 {
		return registry.FaultSlot{}
	}
	if p.dbg.dropCheck {
		if fs, ok := p.describeShadow(slot, serial); ok {
			return fs
		}
	}
	pos, i := slot/p.nelems, uint32(slot%p.nelems)
	table := *p.refTable.Load()
	if pos >= len(table) {
		return registry.FaultSlot{}
	}
	s := table[pos].Load()
	if s == nil {
		return registry.FaultSlot{} // released by Trim
	}
	d := &s.dbg.slots[i]
	fs := registry.FaultSlot{Found: true, Addr: uintptr(unsafe.Pointer(slotRef[T]{s, i}.ptr()))}
	st := d.state.Load()
	// A slot allocated again since has a higher count; a guard page's
	// fault names no count, and its slot may be live again by now.
	if (serial != 0 && d.serial.Load() != serial) || (serial == 0 && (st == dLive || st == dFreeing)) {
		fs.Reused = true
		return fs
	}
	fs.Alloc, fs.Free = stack.ID(d.allocStack.Load()), stack.ID(d.freeStack.Load())
	fs.AllocAt, fs.FreeAt = d.allocAt.Load(), d.freeAt.Load()
	return fs
}

// describeShadow describes the freed shadow object of drop detection that
// slot stood for when its allocation count was serial, if the pool still
// knows it.
func (p *Pool[T]) describeShadow(slot int, serial uint32) (registry.FaultSlot, bool) {
	p.dbg.smu.Lock()
	defer p.dbg.smu.Unlock()
	for addr, sh := range p.dbg.shadows {
		if p.slotNum(sh.r) != slot || sh.slotSerial != serial {
			continue
		}
		st := sh.state.Load()
		if st == dLive || st == dFreeing {
			continue
		}
		return registry.FaultSlot{
			Found: true, Addr: addr,
			Alloc: stack.ID(sh.allocStack.Load()), Free: stack.ID(sh.freeStack.Load()),
			AllocAt: sh.allocAt.Load(), FreeAt: sh.freeAt.Load(),
		}, true // a shadow is never reused: its stacks stay its own
	}
	return registry.FaultSlot{}, false
}

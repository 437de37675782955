package fault

import (
	"sync/atomic"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/pin"
)

// A Cell is the part of the region given to one freed object. The zero Cell
// is the anonymous cell: its addresses fault like the others', but no record
// says whose they are.
type Cell uint32

// A Record says whom a cell was handed to.
type Record struct {
	// Pool is the pool's id in internal/registry (registry.Lookup).
	Pool uint64
	// Slot is the pool-wide slot number of the freed object, below 2^32.
	Slot int
	// Serial tells apart the successive allocations of the slot: the
	// pool's count of them when the object was freed.
	Serial uint32
	// Fields names the object's fields (see RegisterFields).
	Fields FieldsID
}

// record is the side-table entry of one cell: 24 bytes. It is written by
// the one goroutine that acquired the cell, and read by Decode at any time,
// so its words are atomic. Atomic stores are locked instructions on amd64,
// a good part of a Free's cost here: the record packs what it holds into
// two words. A Decode that races with the cell being handed out again,
// which only a copy of a poisoned word kept that long can cause, may see
// one word of each record.
type record struct {
	busy atomic.Uint32 // 1 from Acquire to Release
	_    uint32
	slot atomic.Uint64 // the slot number, and the serial in the high 32 bits
	pool atomic.Uint64 // the pool id, and the Fields id in the low fieldsBits
}

// fieldsBits is the width of a FieldsID in record.pool: 2^24 types; pool
// ids take the other 40 bits. Records that do not fit are not kept.
const fieldsBits = 24

const (
	chunkCells = 4096 // records allocated at once: 96 KiB
	// maxProbes bounds the cells Acquire tries before it gives up and
	// returns the anonymous cell: with cells handed out round-robin and
	// released in about the same order (quarantines are FIFOs), a busy
	// cell under the cursor is rare until nearly every cell is busy.
	maxProbes = 16
)

type chunk [chunkCells]record

// Each P takes cells from the ring in batches, so that Ps do not contend on
// the cursor, nor write records on the same cache lines.
const batch = 64

// local is a P's batch of cells: positions [next, end) of the ring.
type local struct {
	next, end uint64
	_         [48]byte // a cache line each
}

var (
	locals []local                 // by P id, GOMAXPROCS of the time of setup
	chunks []atomic.Pointer[chunk] // ncells/chunkCells entries, set by setup
	cursor atomic.Uint64           // ring positions taken by the Ps so far, unwrapped
	// ring is how many cells Acquire cycles through, the anonymous one
	// included: ncells, or fewer in tests of a full ring.
	ring      atomic.Uint32
	overflows atomic.Uint64
)

// next returns the next position of the ring for the calling P to probe.
//
// It is not instrumented for the race detector (norace): the P, not a
// lock, serialises the use of its batch, which the detector cannot see.
//
//go:norace
func next() uint64 {
	pid := pin.Pin()
	if pid >= len(locals) {
		pin.Unpin()
		return cursor.Add(1)
	}
	l := &locals[pid]
	if l.next == l.end {
		l.end = cursor.Add(batch)
		l.next = l.end - batch
	}
	k := l.next
	l.next++
	pin.Unpin()
	return k
}

// recordOf returns the record of cell c, allocating its chunk if create is
// set; nil if the chunk does not exist and create is not set.
func recordOf(c Cell, create bool) *record {
	cp := &chunks[c/chunkCells]
	ch := cp.Load()
	if ch == nil {
		if !create {
			return nil
		}
		ch = new(chunk)
		if !cp.CompareAndSwap(nil, ch) {
			ch = cp.Load()
		}
	}
	return &ch[c%chunkCells]
}

// Acquire hands out a cell and records r as its owner. It returns the
// anonymous cell 0 when the region does not exist (see Available), when
// every cell it probed is in use, or when r does not fit a record (a Pool
// id of 2^40 or more, a Fields id of 2^24 or more, a Slot outside
// [0, 2^32)); the caller poisons with it all the same. The cell stays in
// use until Release.
func Acquire(r Record) Cell {
	if !setup() || r.Pool >= 1<<(64-fieldsBits) || r.Fields >= 1<<fieldsBits || r.Slot < 0 || uint64(r.Slot) > 1<<32-1 {
		return 0
	}
	n := uint64(ring.Load())
	for range maxProbes {
		c := Cell(next()%(n-1) + 1)
		rec := recordOf(c, true)
		if rec.busy.CompareAndSwap(0, 1) {
			rec.slot.Store(uint64(uint32(r.Slot)) | uint64(r.Serial)<<32)
			rec.pool.Store(r.Pool<<fieldsBits | uint64(r.Fields))
			return c
		}
	}
	overflows.Add(1)
	return 0
}

// Release ends the use of c, which Acquire returned: the object it was
// handed to is no longer poisoned. The record stays, so that a copy of a
// poisoned word the program kept still decodes, until the cell is handed out
// again. Release of the anonymous cell does nothing.
func Release(c Cell) {
	if c == 0 || !ready.Load() {
		return
	}
	if rec := recordOf(c, false); rec != nil {
		rec.busy.Store(0)
	}
}

// Addr returns the address at offset off of cell c: the value a poisoned
// reference word holds. It returns nil if the region does not exist; off
// must be below CellSize.
func (c Cell) Addr(off uintptr) unsafe.Pointer {
	if !ready.Load() {
		return nil
	}
	return unsafe.Add(base, uintptr(c)<<cellShift+off)
}

// load returns the record and whether the cell is in use.
func (rec *record) load() (r Record, busy bool) {
	ss, pf := rec.slot.Load(), rec.pool.Load()
	r = Record{
		Pool:   pf >> fieldsBits,
		Slot:   int(uint32(ss)),
		Serial: uint32(ss >> 32),
		Fields: FieldsID(pf & (1<<fieldsBits - 1)),
	}
	return r, rec.busy.Load() != 0
}

// Counters describes the use of the region since the process started.
type Counters struct {
	Cells    int     // cells, the anonymous one included
	CellSize uintptr // bytes per cell
	// Probed counts the ring positions the Ps have taken to try, in
	// batches; Overflows the Acquires that found no free cell and returned
	// the anonymous one.
	Probed, Overflows uint64
}

// Stats returns the region's counters. It does not reserve the region.
func Stats() Counters {
	c := Counters{Probed: cursor.Load(), Overflows: overflows.Load()}
	if ready.Load() {
		c.Cells, c.CellSize = int(ncells), 1<<cellShift
	}
	return c
}

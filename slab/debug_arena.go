//go:build slabdebug

package slab

import (
	"fmt"
	"math/bits"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/clock"
	"github.com/slabtrack/slabtrack/internal/debugmode"
	"github.com/slabtrack/slabtrack/internal/errs"
	"github.com/slabtrack/slabtrack/internal/fault"
	"github.com/slabtrack/slabtrack/internal/poison"
	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/internal/registry"
	"github.com/slabtrack/slabtrack/internal/stack"
	"github.com/slabtrack/slabtrack/internal/violation"
)

// The slices, strings and values of released scopes (debug builds). Each
// allocation a scope makes from an arena is recorded with its stack; at
// Release every element of it is poisoned as a freed pool object is, with
// the element type's layout: its reference words point into a fault cell
// of the allocation's own, with typed stores, and its scalars hold the
// poison pattern. A stale o.Lines[i].Name of a released []Line then faults
// at the access, and the report names the allocation (MakeSliceIn,
// AppendIn, StringIn...) and the Release. The chunks then wait in a
// quarantine per type before any scope reuses them, and leave it verified:
// a write to a released slice or string is reported with the field and its
// bytes.
//
// A string's bytes hold no reference: a read of a released string returns
// 0x6b bytes ("kkkk") rather than faulting, and never the next request's
// data while its chunk is in the quarantine; a write to them is found when
// the chunk leaves it. Guard pages for byte chunks would make the read fault
// too, at a protection change per chunk per Release (about 10 µs) and two
// of the kernel's mappings per quarantined chunk; they are not used.

// arenaQuarantine is how many released chunks of each type wait before
// reuse.
const arenaQuarantine = 16

// arenaRecords is how many released allocations of each type the records
// for fault reports keep: a fault through an allocation older than that
// many Releases of its type is reported without its stacks.
const arenaRecords = 4096

// arenaDebug is an arena's record of the allocations made since the last
// Release.
type arenaDebug struct {
	allocs []arenaAlloc
}

// An arenaAlloc is one allocation from an arena: n bytes at p, a whole
// number of elements, made at the stack at time at.
type arenaAlloc struct {
	p     unsafe.Pointer
	n     uintptr
	stack stack.ID
	at    int64
}

// noteAlloc records an allocation of n bytes at p.
func (a *arena) noteAlloc(p unsafe.Pointer, n uintptr) {
	if n == 0 {
		return
	}
	a.dbg.allocs = append(a.dbg.allocs, arenaAlloc{p: p, n: n, stack: callerStack(debugmode.Current()), at: clock.Now()})
}

// releaseDebug is release in debug builds: every allocation is poisoned,
// the chunks go to the type's quarantine, and the arena keeps none of them.
// A chunk of its own is poisoned and left to the garbage collector, its
// fault cells given back when it is collected.
func (a *arena) releaseDebug() {
	if a.n > 0 {
		a.chunks[a.n-1].used = a.off
	}
	d := chunkDebugOf(a.et)
	free := callerStack(debugmode.Current())
	now := clock.Now()
	for _, ch := range a.chunks {
		q := qchunk{p: ch.p, class: ch.class}
		lo, hi := uintptr(ch.p), uintptr(ch.p)+ch.bytes
		for _, al := range a.dbg.allocs {
			if at := uintptr(al.p); at >= lo && at < hi {
				q.allocs = append(q.allocs, d.poison(al, at-lo, free, now))
			}
		}
		if ch.class == chunkClasses {
			var cells []fault.Cell
			for _, pa := range q.allocs {
				cells = append(cells, pa.cell)
			}
			runtime.AddCleanup((*byte)(ch.p), releaseCells, cells)
			continue
		}
		d.enqueue(q)
	}
	clear(a.chunks)
	a.chunks = a.chunks[:0]
	a.n, a.used = 0, 0
	a.cur, a.off, a.end = nil, 0, 0
	clear(a.dbg.allocs)
	a.dbg.allocs = a.dbg.allocs[:0]
}

func releaseCells(cells []fault.Cell) {
	for _, c := range cells {
		fault.Release(c)
	}
}

// chunkDebug is an element type's quarantine of released chunks, and the
// records of its released allocations, for fault reports (it is the
// registry.FaultSource their fault cells name).
type chunkDebug struct {
	et     *elemType
	layout *poison.Layout
	id     uint64 // in internal/registry

	mu   sync.Mutex
	ring []qchunk

	next atomic.Uint32
	// recs are the records, in segments made on first use, each as large
	// as those before it together (16, 16, 32, 64... records), so that a
	// type that scopes use little of (a program may have thousands) takes
	// 16 records, not arenaRecords.
	recs [arenaRecSegments]atomic.Pointer[[]arenaRec]
}

// arenaRecFirst is the size of the first segment of records; segment i > 0
// holds records [arenaRecFirst<<(i-1), arenaRecFirst<<i).
const (
	arenaRecFirst    = 16
	arenaRecSegments = 9 // up to arenaRecords
)

// record returns record k, making its segment if create is set, or nil if
// its segment was never made.
func (d *chunkDebug) record(k uint32, create bool) *arenaRec {
	seg, off, n := uint32(0), k, uint32(arenaRecFirst)
	if k >= arenaRecFirst {
		seg = uint32(bits.Len32(k / arenaRecFirst))
		n = arenaRecFirst << (seg - 1)
		off = k - n
	}
	p := d.recs[seg].Load()
	if p == nil {
		if !create {
			return nil
		}
		recs := make([]arenaRec, n)
		d.recs[seg].CompareAndSwap(nil, &recs)
		p = d.recs[seg].Load()
	}
	return &(*p)[off]
}

// A qchunk is a released chunk: its memory, its class, and what was
// allocated in it, poisoned.
type qchunk struct {
	p      unsafe.Pointer
	class  int
	allocs []poisonedAlloc
}

// A poisonedAlloc is a released allocation: bytes [off, off+n) of its
// chunk, poisoned with cell, described by record rec while its serial is
// serial.
type poisonedAlloc struct {
	off, n      uintptr
	cell        fault.Cell
	rec, serial uint32
}

// arenaRec is the record of a released allocation, read by fault reports
// from any goroutine: atomic words.
type arenaRec struct {
	serial          atomic.Uint32 // allocations the record has described
	addr            atomic.Uintptr
	alloc, free     atomic.Uint32 // stack.IDs
	allocAt, freeAt atomic.Int64
}

var (
	chunkDebugs   sync.Map // *elemType -> *chunkDebug
	chunkDebugsMu sync.Mutex
)

func chunkDebugOf(et *elemType) *chunkDebug {
	if d, ok := chunkDebugs.Load(et); ok {
		return d.(*chunkDebug)
	}
	chunkDebugsMu.Lock()
	defer chunkDebugsMu.Unlock()
	if d, ok := chunkDebugs.Load(et); ok {
		return d.(*chunkDebug)
	}
	d := &chunkDebug{et: et, layout: poison.For(et.typ)}
	d.id = registry.RegisterSource(d)
	chunkDebugs.Store(et, d)
	return d
}

// poison poisons the allocation al, at offset off of its chunk, released at
// the stack free at time now, and records it.
func (d *chunkDebug) poison(al arenaAlloc, off uintptr, free stack.ID, now int64) poisonedAlloc {
	k := (d.next.Add(1) - 1) % arenaRecords
	rec := d.record(k, true)
	serial := rec.serial.Add(1)
	rec.addr.Store(uintptr(al.p))
	rec.alloc.Store(uint32(al.stack))
	rec.allocAt.Store(al.at)
	rec.free.Store(uint32(free))
	rec.freeAt.Store(now)
	race.WriteRange(al.p, int(al.n)) // a later use races with the Release
	var c fault.Cell
	if d.layout.HasRefs() {
		c = fault.Acquire(fault.Record{Pool: d.id, Slot: int(k), Serial: serial, Fields: d.layout.Fields()})
	}
	for o := uintptr(0); o+d.et.size <= al.n; o += d.et.size {
		d.layout.Repoison(unsafe.Add(al.p, o), c) // typed stores for the reference words
	}
	return poisonedAlloc{off: off, n: al.n, cell: c, rec: k, serial: serial}
}

// enqueue puts the released chunk q in the quarantine; the chunk that it
// pushes out is verified, zeroed and cached for reuse.
func (d *chunkDebug) enqueue(q qchunk) {
	d.mu.Lock()
	d.ring = append(d.ring, q)
	var out qchunk
	if len(d.ring) > arenaQuarantine {
		out = d.ring[0]
		copy(d.ring, d.ring[1:])
		d.ring[len(d.ring)-1] = qchunk{}
		d.ring = d.ring[:len(d.ring)-1]
	}
	d.mu.Unlock()
	if out.p == nil {
		return
	}
	et := d.et
	v := d.check(out)
	et.clearChunk(out.p, classBytes(out.class)/et.size*et.size) // typed: the write barriers ignore the poisoned words
	for _, pa := range out.allocs {
		fault.Release(pa.cell)
	}
	et.putChunk(out.p, out.class)
	if v != nil {
		violation.Report(v) // the cache is consistent again
	}
}

// check verifies the poison of the released chunk q, and describes the
// first write after Release it finds.
func (d *chunkDebug) check(q qchunk) *violation.Violation {
	size := d.et.size
	for _, pa := range q.allocs {
		for o := pa.off; o+size <= pa.off+pa.n; o += size {
			elem := unsafe.Add(q.p, o)
			at, bad := d.layout.Verify(elem, pa.cell)
			if !bad {
				continue
			}
			name, from, to := d.layout.Field(at)
			what := d.et.typ.String()
			if name != "" {
				what += "." + name
			}
			v := &violation.Violation{
				Kind:   violation.WriteAfterFree,
				Pool:   d.Name(),
				Type:   d.TypeName(),
				Slot:   -1,
				Addr:   uintptr(elem),
				Field:  name,
				Offset: from,
				Got:    poison.Bytes(elem, from, to),
				Want:   d.layout.Want(elem, pa.cell, from, to),
				Detail: fmt.Sprintf("the %s at this address, element %d of a slice, string or value of a released scope, was written after Release; found when its memory left the quarantine",
					what, (o-pa.off)/size),
				Err: fmt.Errorf("%w to %s memory of a released scope", errs.WriteAfterFree, reflect.SliceOf(d.et.typ)),
			}
			if rec := d.record(pa.rec, false); rec != nil && rec.serial.Load() == pa.serial {
				now := clock.Now()
				v.Alloc, v.AllocAge = frames(rec.alloc.Load()), clock.Since(now, rec.allocAt.Load())
				v.Free, v.FreeAge = frames(rec.free.Load()), clock.Since(now, rec.freeAt.Load())
			}
			return v
		}
	}
	return nil
}

// Name names the memory in reports, where a pool's name stands.
func (d *chunkDebug) Name() string { return "(scope memory)" }

// TypeName names the memory's type in reports, "[]main.Line".
func (d *chunkDebug) TypeName() string { return "[]" + d.et.typ.String() }

// DescribeFault describes record slot, if it still describes the
// allocation whose record serial was serial.
func (d *chunkDebug) DescribeFault(slot int, serial uint32) registry.FaultSlot {
	if slot < 0 || slot >= arenaRecords {
		return registry.FaultSlot{}
	}
	rec := d.record(uint32(slot), false)
	if rec == nil {
		return registry.FaultSlot{}
	}
	fs := registry.FaultSlot{
		Found: true,
		Note:  "the object is an element of a slice, string or value that a scope allocated (NewIn, MakeSliceIn, AppendIn, StringIn...) and released",
	}
	if rec.serial.Load() != serial {
		fs.Reused = true // its record describes a later allocation
		return fs
	}
	fs.Addr = rec.addr.Load()
	fs.Alloc, fs.Free = stack.ID(rec.alloc.Load()), stack.ID(rec.free.Load())
	fs.AllocAt, fs.FreeAt = rec.allocAt.Load(), rec.freeAt.Load()
	return fs
}

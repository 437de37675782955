//go:build slabdebug

package slab

import (
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/clock"
	"github.com/slabtrack/slabtrack/internal/debugmode"
	"github.com/slabtrack/slabtrack/internal/fault"
	"github.com/slabtrack/slabtrack/internal/guard"
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
// Types without pointers (the bytes of strings, []int64, []Point) have no
// reference word to poison, and their chunks need not be Go memory: on
// Linux their chunks are guard slabs (internal/guard), one chunk each,
// which Release makes inaccessible while they wait in the quarantine. Any
// read or write of a released string or of an element of such a slice then
// faults at the access, and the report names the element and the
// allocation's stacks. A protected chunk costs no memory (its pages are
// given back) and two of the kernel's mappings; where guard.NewSlab or
// Protect fails (another platform, the map-count budget spent) a chunk is
// Go memory, poisoned with the pattern, as for types with pointers. Under
// -asan, AddressSanitizer's shadow catches the instrumented accesses first;
// the guard pages catch the others (Go's -asan instruments neither the
// comparison of a string with a constant nor runtime.memequal).
//
// Guarded chunks are never unmapped (a stale pointer may still reach one):
// a chunk of a class goes back to its type's free list once it leaves the
// quarantine, and a chunk of its own (larger than every class) is retired,
// for the next guard slab of its length.

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

// debugLastAlloc returns the stack and time that noteAlloc recorded for the
// arena's latest allocation.
//
//lint:ignore U1000 called under -asan only (asan_on.go)
func (a *arena) debugLastAlloc() (stack.ID, int64) {
	if k := len(a.dbg.allocs); k > 0 {
		return a.dbg.allocs[k-1].stack, a.dbg.allocs[k-1].at
	}
	return 0, 0
}

// releaseDebug is release in debug builds: every allocation is poisoned,
// or its guarded chunk protected; the chunks go to the type's quarantine,
// and the arena keeps none of them. A chunk of its own in Go memory is
// poisoned and left to the garbage collector, its fault cells given back
// when it is collected.
func (a *arena) releaseDebug() {
	if a.n > 0 {
		a.chunks[a.n-1].used = a.off
	}
	d := chunkDebugOf(a.et)
	free := callerStack(debugmode.Current())
	now := clock.Now()
	for _, ch := range a.chunks {
		q := qchunk{p: ch.p, class: ch.class, used: ch.used, g: d.guardOf(ch.p)}
		lo, hi := uintptr(ch.p), uintptr(ch.p)+ch.bytes
		for _, al := range a.dbg.allocs {
			if at := uintptr(al.p); at >= lo && at < hi {
				q.allocs = append(q.allocs, d.poison(al, at-lo, free, now, q.g == nil))
			}
		}
		if q.g != nil {
			q.prot = d.protect(&q)
		}
		if asan.Enabled {
			asan.Freed(ch.p, ch.used, uint32(free), now)
		}
		if ch.class == chunkClasses && q.g == nil { // Go memory
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

	// gmu guards the guarded chunks: all of them by index (a guard slab's
	// Owner.FirstSlot), and those free, unprotected and zero, by class.
	gmu    sync.Mutex
	guards []*guardChunk
	gfree  [chunkClasses][]*guardChunk
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

// A guardChunk is a chunk of a pointer-free type on a guard slab of its
// own.
type guardChunk struct {
	slab  *guard.Slab
	class int // chunkClasses for a chunk of its own
	// released lists what the chunk held when it was last released, for
	// fault reports: set at Release, before the chunk is protected.
	released atomic.Pointer[[]poisonedAlloc]
}

// A qchunk is a released chunk: its memory, its class, what was allocated
// in it, poisoned, and how many bytes of it were used. g is set for a
// chunk on a guard slab, and prot while it is protected (a chunk that could
// not be protected, the map-count budget spent, is poisoned instead).
type qchunk struct {
	p      unsafe.Pointer
	class  int
	used   uintptr
	allocs []poisonedAlloc
	g      *guardChunk
	prot   bool
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

// poison records the allocation al, at offset off of its chunk, released at
// the stack free at time now, and, if fill is set, poisons it (a guarded
// chunk is protected instead).
func (d *chunkDebug) poison(al arenaAlloc, off uintptr, free stack.ID, now int64, fill bool) poisonedAlloc {
	k := (d.next.Add(1) - 1) % arenaRecords
	rec := d.record(k, true)
	serial := rec.serial.Add(1)
	rec.addr.Store(uintptr(al.p))
	rec.alloc.Store(uint32(al.stack))
	rec.allocAt.Store(al.at)
	rec.free.Store(uint32(free))
	rec.freeAt.Store(now)
	if !fill {
		return poisonedAlloc{off: off, n: al.n, rec: k, serial: serial}
	}
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
	if out.prot {
		d.unprotect(out) // nothing can have written it
		return
	}
	et := d.et
	bytes := classBytes(out.class) / et.size * et.size
	if out.class == chunkClasses {
		bytes = out.used // a guarded chunk of its own, which could not be protected
	}
	if asan.Enabled {
		asan.Unpoison(out.p, bytes) // for the check and the clear; poisoned again below
	}
	v := d.check(out)
	et.clearChunk(out.p, bytes) // typed: the write barriers ignore the poisoned words
	for _, pa := range out.allocs {
		fault.Release(pa.cell)
	}
	if asan.Enabled {
		asan.Poison(out.p, bytes)
	}
	switch {
	case out.g != nil && out.class == chunkClasses:
		d.retire(out.g)
	case out.g != nil:
		out.g.released.Store(nil)
		d.gmu.Lock()
		d.gfree[out.class] = append(d.gfree[out.class], out.g)
		d.gmu.Unlock()
	default:
		et.putChunk(out.p, out.class)
	}
	if v != nil {
		violation.Report(v) // the cache is consistent again
	}
}

// guardedChunk returns a new zeroed chunk of n values of et, on a guard
// slab if et has no pointers and the platform has guard pages, or nil: the
// caller then makes one in Go memory.
func (et *elemType) guardedChunk(n uintptr) unsafe.Pointer {
	if et.ptrs || !guard.Supported() {
		return nil
	}
	return chunkDebugOf(et).guardChunkOf(classOf(n*et.size), n*et.size)
}

// guardChunkOf returns a free guarded chunk of class c (of bytes bytes), or
// a new one; nil if none can be mapped.
func (d *chunkDebug) guardChunkOf(c int, bytes uintptr) unsafe.Pointer {
	d.gmu.Lock()
	defer d.gmu.Unlock()
	if c < chunkClasses {
		if n := len(d.gfree[c]); n > 0 {
			g := d.gfree[c][n-1]
			d.gfree[c][n-1] = nil
			d.gfree[c] = d.gfree[c][:n-1]
			return g.slab.Slot(0)
		}
	}
	s, err := guard.NewSlab(bytes, 1, guard.Owner{Pool: d.id, FirstSlot: len(d.guards), Fields: d.layout.Fields()})
	if err != nil {
		return nil
	}
	d.guards = append(d.guards, &guardChunk{slab: s, class: c})
	if asan.Enabled {
		d.et.asanChunk(s.Slot(0), bytes) // never unmapped: its record stays
	}
	return s.Slot(0)
}

// guardOf returns the guarded chunk at p, or nil if p is Go memory.
func (d *chunkDebug) guardOf(p unsafe.Pointer) *guardChunk {
	s, i, off, ok := guard.Lookup(uintptr(p))
	if !ok || i != 0 || off != 0 || s.Owner().Pool != d.id {
		return nil
	}
	return d.guardAt(s.Owner().FirstSlot)
}

// guardAt returns guarded chunk k, or nil.
func (d *chunkDebug) guardAt(k int) *guardChunk {
	d.gmu.Lock()
	defer d.gmu.Unlock()
	if k < 0 || k >= len(d.guards) {
		return nil
	}
	return d.guards[k]
}

// protect makes the guarded chunk of q inaccessible, its pages given back
// (they read as zero when it is unprotected), and reports whether it did;
// if not (the map-count budget is spent), it poisons q's allocations.
func (d *chunkDebug) protect(q *qchunk) bool {
	q.g.released.Store(&q.allocs)
	if q.g.slab.Protect(0, true) == nil {
		return true
	}
	for _, pa := range q.allocs {
		// The type has no reference word: the pattern, no fault cell.
		for o := uintptr(0); o+d.et.size <= pa.n; o += d.et.size {
			d.layout.Repoison(unsafe.Add(q.p, pa.off+o), 0)
		}
	}
	return false
}

// unprotect readies the guarded chunk of q, which left the quarantine, for
// reuse: accessible and zero, in the free list of its class, or, a chunk
// of its own, retired.
func (d *chunkDebug) unprotect(q qchunk) {
	g := q.g
	g.released.Store(nil)
	if g.class == chunkClasses {
		d.retire(g)
		return
	}
	if err := g.slab.Unprotect(0); err != nil {
		return // the kernel refused: the chunk stays out of use, protected
	}
	d.gmu.Lock()
	d.gfree[g.class] = append(d.gfree[g.class], g)
	d.gmu.Unlock()
}

// retire gives the memory of the guarded chunk g of its own back to the
// kernel, for the next guard slab of its length; its addresses fault until
// then, and reports say that its memory was reused or retired.
func (d *chunkDebug) retire(g *guardChunk) {
	g.released.Store(nil)
	_ = g.slab.Retire()
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
				Err: releasedWriteError(d.et.typ),
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

// DescribeAccess describes an access at offset off of the guarded chunk
// numbered slot, which faulted because the chunk was released: the
// allocation the offset lies in, by its record (rec, the slot that reports
// name), and the element and field accessed, such as "[3]" or "[0].Qty".
func (d *chunkDebug) DescribeAccess(slot int, off uintptr) (fs registry.FaultSlot, rec int, field string) {
	g := d.guardAt(slot)
	if g == nil {
		return registry.FaultSlot{}, -1, ""
	}
	allocs := g.released.Load()
	if allocs == nil {
		fs.Found = true
		fs.Note = "the memory is a chunk of scope memory that a released scope held, reused or retired since"
		return fs, -1, ""
	}
	for _, pa := range *allocs {
		if off < pa.off || off >= pa.off+pa.n {
			continue
		}
		in := off - pa.off
		field = fmt.Sprintf("[%d]", in/d.et.size)
		if name, _, _ := d.layout.Field(in % d.et.size); name != "" {
			field += "." + name
		}
		fs = d.DescribeFault(int(pa.rec), pa.serial)
		fs.Addr = uintptr(g.slab.Slot(0)) + pa.off
		return fs, int(pa.rec), field
	}
	fs.Found = true
	fs.Note = "the memory is part of a chunk of scope memory that the released scope did not hand out"
	return fs, -1, ""
}

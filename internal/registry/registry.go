// Package registry keeps the set of live pools, weakly, so that process-wide
// work (the automatic trim after each GC, in package slab, and the tracker's
// reports) can visit every pool without keeping any of them alive, and finds
// the pool or fault source that a fault record names.
package registry

import (
	"runtime"
	"sync"
	"weak"

	"github.com/slabtrack/slabtrack/internal/stack"
)

// Pool is what a registered pool offers to process-wide visitors.
type Pool interface {
	// Name is the pool's name.
	Name() string
	// TypeName is *T, the type of the pool's objects, such as "*main.Order".
	TypeName() string
	// Counters returns the pool's counters, in every build.
	Counters() Counters
	// LiveObjects appends a record of every live object to dst. Default
	// builds keep no per-object records and append nothing.
	LiveObjects(dst []Object) []Object
	// LiveSlots sets the bit of every slot that holds a live object in dst
	// (bit k of word k/64 is the pool-wide slot k) and returns it, grown as
	// needed. Every build can: it is what default builds know of objects.
	LiveSlots(dst []uint64) []uint64
	// Dropped appends a record of every object that became unreachable
	// without Free (debug builds with drop detection; others append nothing).
	Dropped(dst []Object) []Object
	// CheckQuarantine verifies the poison of every slot in the pool's
	// quarantine and returns the writes after free found (each a
	// *violation.Violation; an error here, so that default builds, which
	// find none, do not link the report code), poisoning the slots again
	// so that each is found once. It reports nothing itself: the caller
	// does.
	CheckQuarantine() []error
}

// A FaultDescriber is a pool that describes one of its slots for a fault
// report: a read through a reference word that its Free poisoned, or an
// access to a guard page of its quarantine. Debug builds' pools implement
// it; tracker calls it from the goroutine that faulted, which may have been
// stopped anywhere, so it must not take a lock that a user's call can hold
// while it reads memory (it reads the slot's debug record with atomics).
type FaultDescriber interface {
	// DescribeFault describes slot (a pool-wide slot number) as it was
	// when the object whose allocation count was serial was freed; serial
	// 0 asks for the slot's last free.
	DescribeFault(slot int, serial uint32) FaultSlot
}

// A FaultSource is memory other than a pool's slots whose freed objects
// are poisoned, and which describes them for fault reports: the slices and
// strings of released scopes. Its Name and TypeName stand in a report
// where a pool's would.
type FaultSource interface {
	Name() string
	TypeName() string
	FaultDescriber
}

// An AccessDescriber is a fault source whose guard slots hold more than one
// object: scope memory, where a guard slot is a chunk of a released scope
// holding several allocations, each a run of elements. Debug builds' scope
// memory implements it; tracker calls it for a fault on its guard pages,
// under the same rules as DescribeFault.
type AccessDescriber interface {
	// DescribeAccess describes the object at offset off of guard slot
	// slot: what the pool knows of it, the slot number reports give it
	// (-1 if none), and the element and field at off, such as "[3]" or
	// "[0].Qty".
	DescribeAccess(slot int, off uintptr) (fs FaultSlot, rec int, field string)
}

// FaultSlot is what a pool knows of a slot for a fault report.
type FaultSlot struct {
	// Note is a clause a report adds to its detail, such as what the
	// memory was; "" if none.
	Note string
	// Found is false if the pool has no such slot (its slab was released).
	Found bool
	// Addr is the slot's address.
	Addr uintptr
	// Alloc and Free are where the object was allocated and freed, and
	// AllocAt and FreeAt when (internal/clock); zero if not recorded.
	Alloc, Free     stack.ID
	AllocAt, FreeAt int64
	// Reused is set if the slot was allocated again since the free that
	// serial names: the object the program read is gone, and Alloc and
	// Free are left zero rather than describe another one.
	Reused bool
}

// Counters is what process-wide reports need of a pool beside its
// slab.Stats, which package tracker reads from the pool itself (the
// registered value has a Stats method: this package cannot name the type).
type Counters struct {
	ID   uint64 // the pool's id, unique in the process
	Name string
	Type string  // *T, the type of the pool's objects, such as "*main.Order"
	Size uintptr // bytes per object
	// Quarantined is the number of freed slots held in the debug
	// quarantine, or on their way out of it; 0 in default builds, which
	// have none. Free slots held by caches and scopes are not counted.
	Quarantined int
}

// Object is the debug record of one allocation.
type Object struct {
	Slot int     // the pool-wide slot number
	Addr uintptr // the object's address
	// Serial tells apart successive allocations of one slot.
	Serial uint32
	// Stack is where the object was allocated (0 if not recorded).
	Stack stack.ID
	// AllocAt is when it was allocated (internal/clock).
	AllocAt int64
	// Weight is the number of objects the record stands for: 1, or the
	// sampling period for an object sampled by WithSampling.
	Weight int
	// Mark is the test mark (internal/testlabel) of the goroutine that
	// allocated it, 0 if none.
	Mark uint32
}

var (
	mu      sync.Mutex
	nextID  uint64
	pools   = map[uint64]func() Pool{}
	sources = map[uint64]FaultSource{}
)

// RegisterSource adds s, held for the life of the process, and returns its
// id, from the ids of pools, by which fault records name it.
func RegisterSource(s FaultSource) uint64 {
	mu.Lock()
	defer mu.Unlock()
	nextID++
	sources[nextID] = s
	return nextID
}

// LookupFaults returns the pool or source that id names, if it describes
// its slots for fault reports, or nil.
func LookupFaults(id uint64) FaultSource {
	mu.Lock()
	src := sources[id]
	mu.Unlock()
	if src != nil {
		return src
	}
	if fs, ok := Lookup(id).(FaultSource); ok {
		return fs
	}
	return nil
}

// Register adds p, held weakly, and returns its id, by which Lookup finds it
// and fault records (internal/fault, internal/guard) name it. p is removed
// when it becomes unreachable.
func Register[P any, PP interface {
	*P
	Pool
}](p PP) uint64 {
	wp := weak.Make((*P)(p))
	mu.Lock()
	nextID++
	id := nextID
	pools[id] = func() Pool {
		if v := wp.Value(); v != nil {
			return PP(v)
		}
		return nil
	}
	mu.Unlock()
	runtime.AddCleanup((*P)(p), unregister, id)
	return id
}

func unregister(id uint64) {
	mu.Lock()
	delete(pools, id)
	mu.Unlock()
}

// Lookup returns the live pool that Register registered with id, or nil if
// it has been collected or never was.
func Lookup(id uint64) Pool {
	mu.Lock()
	get := pools[id]
	mu.Unlock()
	if get == nil {
		return nil
	}
	return get()
}

// Each calls f for every live pool, in no particular order. f must not call
// Register.
func Each(f func(Pool)) {
	mu.Lock()
	live := make([]Pool, 0, len(pools))
	for _, get := range pools {
		if p := get(); p != nil {
			live = append(live, p)
		}
	}
	mu.Unlock()
	for _, p := range live {
		f(p)
	}
}

// scopePools are package slab's ScopePools that have handed out a scope,
// held weakly, in the order of their first Get. Package registry cannot name
// slab.ScopePool: it lists them as values of any, which package tracker
// asserts to what it needs.
var scopePools struct {
	sync.Mutex
	list []func() any
}

// RegisterScopePool lists sp for EachScopePool until it is collected.
func RegisterScopePool[P any](sp *P) {
	wp := weak.Make(sp)
	scopePools.Lock()
	scopePools.list = append(scopePools.list, func() any {
		if v := wp.Value(); v != nil {
			return v
		}
		return nil
	})
	scopePools.Unlock()
}

// EachScopePool calls f with every registered ScopePool that is not
// collected, in the order they were registered, and forgets the collected
// ones.
func EachScopePool(f func(any)) {
	scopePools.Lock()
	var live []any
	kept := scopePools.list[:0]
	for _, get := range scopePools.list {
		if sp := get(); sp != nil {
			live = append(live, sp)
			kept = append(kept, get)
		}
	}
	clear(scopePools.list[len(kept):])
	scopePools.list = kept
	scopePools.Unlock()
	for _, sp := range live {
		f(sp)
	}
}

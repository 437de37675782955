//go:build !slabdebug

package slab

import (
	"reflect"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/registry"
	"github.com/slabtrack/slabtrack/internal/slabmap"
	"github.com/slabtrack/slabtrack/internal/stack"
)

// debugMode reports whether the slabdebug checks are compiled in. Default
// builds carry none of them: every hook below is empty, every call to one
// sits under "if debugMode", and the compiler removes both.
//
// The hooks' contract, for code that hands out or takes back slots: every
// path that gives a slot to a user (Alloc, TryAlloc, AllocRef, AllocIn, and
// any batch path added later) must call debugAlloc on it after marking it
// stateLive, and every path that takes one back must go through Free, free
// or FreeRef; debug builds track each slot's state separately and would
// report a slot they did not see allocated as a double free.
const debugMode = false

// poolDebug and slabDebug are the debug side tables (debug_on.go); they take
// no space in default builds.
type (
	//lint:ignore U1000 used by debug builds only
	poolDebug[T any] struct{}
	slabDebug        struct{}
)

// stride is 0: default builds put no pool on guard pages.
func (*slabDebug) stride() uintptr { return 0 }

// mapped is false: default builds' slabs are Go memory.
//
//lint:ignore U1000 called under -asan only (asan_on.go)
func (*slabDebug) mapped() bool { return false }

func (p *Pool[T]) debugInit()                           {}
func (p *Pool[T]) debugNewSlab(*slab[T])                {}
func (p *Pool[T]) debugAlloc(slotRef[T])                {}
func (p *Pool[T]) debugShadow(x *T) *T                  { return x }
func (p *Pool[T]) debugFree(*T)                         {}
func (p *Pool[T]) debugFreeSlot(slotRef[T]) *resetPanic { return nil }
func (p *Pool[T]) debugFreeRef(Ref[T])                  {}
func (p *Pool[T]) debugObject(r slotRef[T]) *T          { return r.ptr() }
func (p *Pool[T]) debugRefOf(*T) (Ref[T], bool)         { return Ref[T]{}, false }
func (p *Pool[T]) debugHeldLocked() int                 { return 0 }
func (p *Pool[T]) debugFlushQuarantine(string)          {}
func (p *Pool[T]) debugTrimmedLocked(*slab[T])          {}
func (p *Pool[T]) debugLiveSites() string               { return "" }
func (p *Pool[T]) debugSlabMem(int) []T                 { return nil }
func (p *Pool[T]) debugGuardFallbacks() uint64          { return 0 }

func debugSlotSize(typ reflect.Type, cfg *config) (uintptr, int) { return typ.Size(), cfg.slabSlots }

func (p *Pool[T]) debugDescribeFault(int, uint32) registry.FaultSlot { return registry.FaultSlot{} }

func (p *Pool[T]) debugBadFree(err error, _ slotRef[T], _ op) error               { return err }
func (p *Pool[T]) debugForeign(err error, _ uintptr, _ *slabmap.Slab, _ op) error { return err }
func (p *Pool[T]) debugStaleRef(err error, _ Ref[T]) error                        { return err }

// Scopes take the per-slot paths in debug builds only (debug_scope.go).
//
//lint:ignore U1000 empty and unread in default builds
type scopeBusy struct{}

func (p *Pool[T]) allocInDebug(*scopeState, *scopeSlots[T]) (*T, error) { return nil, nil }
func (b *scopeSlots[T]) releaseDebug() (int64, bool, *resetPanic)       { return 0, false, nil }
func (st *scopeState) noteEnter(scopeOp)                                {}
func (st *scopeState) noteExit()                                        {}

// busyOp names the operation in progress on a scope for the message of a
// second goroutine's call: default builds do not record it.
func (st *scopeState) busyOp() string     { return "another call" }
func (st *scopeState) busyDetail() string { return "" }

func (p *Pool[T]) debugLiveObjects(dst []registry.Object) []registry.Object { return dst }
func (p *Pool[T]) debugEachLive(func(registry.Object))                      {}
func (p *Pool[T]) debugDropped(dst []registry.Object) []registry.Object     { return dst }
func (p *Pool[T]) debugCheckQuarantine() []error                            { return nil }

// Debug builds record what scopes hand out as slices, strings and values,
// and poison and quarantine it at Release (debug_arena.go).
//
//lint:ignore U1000 empty and unread in default builds
type arenaDebug struct{}

func (a *arena) noteAlloc(unsafe.Pointer, uintptr) {}
func (a *arena) releaseDebug()                     {}

// guardedChunk returns a new chunk of n values on a guard slab, or nil:
// default builds have none but under -asan (asan_on.go).
func (et *elemType) guardedChunk(n uintptr) unsafe.Pointer { return et.asanGuardedChunk(n) }

//lint:ignore U1000 called under -asan only (asan_on.go)
func (a *arena) debugLastAlloc() (stack.ID, int64) { return 0, 0 }

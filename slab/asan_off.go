//go:build !asan

package slab

import (
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
)

// Without -asan there is no shadow memory to poison: the hooks of asan_on.go
// are empty, and every call to one sits under "if asan.Enabled", which the
// compiler removes with it.

func (p *Pool[T]) asanNewSlab(*slab[T])                   {}
func (p *Pool[T]) asanTrimmedSlab(*slab[T])               {}
func (p *Pool[T]) asanAlloc(*T)                           {}
func (p *Pool[T]) asanUnpoison(*T)                        {}
func (p *Pool[T]) asanFree(*T)                            {}
func asanUnpoisonStandIn(unsafe.Pointer, uintptr)         {}
func asanAllocIn(unsafe.Pointer, uintptr)                 {}
func asanReleased(unsafe.Pointer, int, uintptr)           {}
func (et *elemType) asanNewChunk(unsafe.Pointer, uintptr) {}
func (a *arena) asanAlloc(unsafe.Pointer, uintptr)        {}
func asanGrow(unsafe.Pointer, uintptr)                    {}
func asanRelease(*arenaChunk)                             {}
func asanReleaseGuarded(*elemType, arenaChunk) bool       { return false }

//lint:ignore U1000 default builds' guardedChunk calls it (debug_off.go); debug builds' has guard slabs of its own
func (et *elemType) asanGuardedChunk(uintptr) unsafe.Pointer { return nil }

//lint:ignore U1000 debug builds' guarded chunks call it (debug_arena.go), behind asan.Enabled
func (et *elemType) asanChunk(unsafe.Pointer, uintptr) asan.Region { return 0 }

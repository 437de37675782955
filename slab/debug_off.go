//go:build !slabdebug

package slab

import "github.com/slabtrack/slabtrack/internal/spanmap"

// debugMode reports whether the slabdebug checks are compiled in. Release
// builds carry none of them: every hook below is empty and inlined away.
const debugMode = false

func (p *Pool[T]) debugNewSpan(*span[T])                                      {}
func (p *Pool[T]) debugAlloc(slotRef[T])                                      {}
func (p *Pool[T]) debugFree(slotRef[T]) bool                                  { return false }
func (p *Pool[T]) debugHeldLocked() int                                       { return 0 }
func (p *Pool[T]) debugBadFree(err error, _ slotRef[T]) error                 { return err }
func (p *Pool[T]) debugViolation(err error, _ uintptr, _ *spanmap.Span) error { return err }
func (p *Pool[T]) debugStaleRef(err error, _ uint32) error                    { return err }

//go:build slabdebug

package slab

import (
	"fmt"
	"sync/atomic"

	"github.com/slabtrack/slabtrack/internal/debugmode"
	"github.com/slabtrack/slabtrack/internal/fault"
)

// Scopes in debug builds. A scope takes each slot as Alloc does and frees
// each object as Free does, through the pool's per-slot paths and their
// debug hooks, so that the debug build records, checks and quarantines
// scoped objects like any other: a use of a scoped object after Release is
// then caught like a use after Free. Scopes are slower there, and keep no
// slots across Release.

// allocInDebug is AllocIn in debug builds. The caller admitted the object
// in a bounded pool. Each object counts against the scope's limit as it is
// taken, as a word of slots does in default builds.
func (p *Pool[T]) allocInDebug(st *scopeState, b *scopeSlots[T]) (*T, error) {
	if !st.take(p.size) {
		if p.bound != 0 {
			p.live.Add(-1)
		}
		return nil, st.limitError(opAllocIn, p.owner.typeName, p.size)
	}
	if b.owner == nil {
		p.mu.Lock()
		p.registerLocked(b)
		p.mu.Unlock()
	}
	st.list(b)
	x := p.alloc()
	r := p.lookup(x)
	*r.st() = stateScoped
	b.objs = append(b.objs, x)
	return x, nil
}

// releaseDebug is release in debug builds: each object goes through
// Pool.free's debug path, which counts the frees and the bound. It returns
// the bytes of the objects freed, and the first panic of the pool's reset
// function: the other objects are freed all the same.
func (b *scopeSlots[T]) releaseDebug() (used int64, holds bool, failed *resetPanic) {
	p := b.owner
	if p != nil {
		used = int64(len(b.objs)) * int64(p.size)
		for i, x := range b.objs {
			if x == nil {
				continue // freed by a Release that a reset's runtime.Goexit ended
			}
			b.objs[i] = nil
			r := p.lookup(x)
			*r.st() = stateLive // the state Pool.free expects
			if err := p.debugFreeSlot(r); err != nil {
				err.op = "the scope's Release"
				failed = addResetPanic(failed, err)
			}
		}
		b.objs = b.objs[:0]
		p.mu.Lock()
		p.sc.removeLocked(b)
		p.mu.Unlock()
		b.reset()
	}
	b.isListed = false
	return used, false, failed
}

// scopeBusy records, in debug builds, the operation in progress on a scope
// and where it was called from, for the report of a second goroutine's
// call (Scope.enter keeps the second one out in every build).
type scopeBusy struct {
	op    atomic.Int32 // the scopeOp in progress, -1 if none
	stack atomic.Uint32
}

// noteEnter records that op begins on st, on this goroutine: a read of a
// released object on this goroutine becomes a report.
func (st *scopeState) noteEnter(op scopeOp) {
	fault.PanicOnFault()
	st.busy.stack.Store(uint32(callerStack(debugmode.Current())))
	st.busy.op.Store(int32(op) + 1)
}

// noteExit records that the operation in progress on st ended. It keeps
// the operation's name and stack: a call refused an instant before, whose
// report is being written as this one ends, still names it. (A report may
// so name the last call recorded rather than the one in progress, when the
// one in progress is AllocIn's fast path, which records nothing.)
func (st *scopeState) noteExit() {}

// busyOp names the operation in progress on st.
func (st *scopeState) busyOp() string {
	if op := st.busy.op.Load(); op > 0 {
		return scopeOp(op - 1).String()
	}
	return "another call"
}

// busyDetail is where this call and the one in progress on st came from.
func (st *scopeState) busyDetail() string {
	return fmt.Sprintf("\n\nthis call:\n%s\nthe other goroutine's call:\n%s",
		frames(uint32(callerStack(debugmode.Current()))), frames(st.busy.stack.Load()))
}

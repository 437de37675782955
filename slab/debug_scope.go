//go:build slabdebug

package slab

import (
	"fmt"
	"sync/atomic"

	"github.com/slabtrack/slabtrack/internal/debugmode"
	"github.com/slabtrack/slabtrack/internal/fault"
	"github.com/slabtrack/slabtrack/internal/stack"
)

// Scopes in debug builds. A scope takes each slot as Alloc does and frees
// each object as Free does, through the pool's per-slot paths and their
// debug hooks, so that the debug build records, checks and quarantines
// scoped objects like any other: a use of a scoped object after Release is
// then caught like a use after Free. Scopes are slower there, and keep no
// slots across Release.

// allocInDebug is AllocIn in debug builds. The caller admitted the object
// in a bounded pool.
func (p *Pool[T]) allocInDebug(st *scopeState, b *scopeSlots[T]) *T {
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
	return x
}

// releaseDebug is release in debug builds: each object goes through
// Pool.free's debug path, which counts the frees and the bound. It returns
// the first panic of the pool's reset function: the other objects are freed
// all the same.
func (b *scopeSlots[T]) releaseDebug() (held bool, failed *resetPanic) {
	p := b.owner
	if p != nil {
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
	return false, failed
}

// scopeBusy catches concurrent use of one scope in debug builds: the
// operation in progress, and where it was called from.
type scopeBusy struct {
	token atomic.Uint64 // the operation in progress, 0 if none
	op    atomic.Pointer[string]
	stack atomic.Uint32 // stack.ID of the operation in progress
}

// busyTokens numbers the operations on scopes.
var busyTokens atomic.Uint64

// enter marks st busy with op, or panics if another goroutine is inside an
// operation on st: a Scope is for one goroutine at a time. op must be a
// constant string: its address is kept.
func (st *scopeState) enter(op *string) uint64 {
	fault.PanicOnFault() // a read of a released object on this goroutine becomes a report
	tok := busyTokens.Add(1)
	call := callerStack(debugmode.Current())
	if !st.busy.token.CompareAndSwap(0, tok) {
		otherOp := "an operation"
		if other := st.busy.op.Load(); other != nil {
			otherOp = *other
		}
		panic(fmt.Errorf("%w: %s on a scope while another goroutine runs %s on it: a Scope is for one goroutine at a time\n\nthis call:\n%s\nthe other goroutine's call:\n%s",
			ErrScopeBusy, *op, otherOp, frames(uint32(call)), frames(st.busy.stack.Load())))
	}
	st.busy.op.Store(op)
	st.busy.stack.Store(uint32(call))
	return tok
}

// exit ends the operation that enter began.
func (st *scopeState) exit(tok uint64) {
	st.busy.stack.Store(uint32(stack.ID(0)))
	st.busy.op.Store(nil)
	st.busy.token.CompareAndSwap(tok, 0)
}

// Names of the scope operations, for enter.
var (
	opAllocIn          = "AllocIn"
	opRelease          = "Release"
	opMakeSliceIn      = "MakeSliceIn"
	opAppendIn         = "AppendIn"
	opStringIn         = "StringIn"
	opNewValueIn       = "NewValueIn"
	opMakeSliceValueIn = "MakeSliceValueIn"
	opGrowSliceValueIn = "GrowSliceValueIn"
)

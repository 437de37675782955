package slab

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/slabtrack/slabtrack/internal/registry"
)

// A ScopePool recycles the memory of scopes that pass from one owner to the
// next, such as the scopes of HTTP requests (package slabhttp uses one).
//
// Get returns a new *Scope on recycled memory, and Put releases it and ends
// it: from then on every use of that *Scope (AllocIn, Release, a second
// Put) panics with an error wrapping ErrInvalidScope, whoever kept it, instead
// of allocating in or freeing the scope of the next owner. A goroutine that
// outlived its request and calls AllocIn while Put runs gets the same
// panic; one whose call was in progress when Put began finishes it first
// (Put waits for it), so that the next owner never shares the memory.
// Objects such a goroutine allocated before Put are freed by Put like the
// rest: its use of them afterwards is a use after release, which builds with
// -tags slabdebug or -asan report. Recycling a *Scope by hand through a
// sync.Pool gives no such protection: a stray Release through a kept
// pointer would free the next request's objects.
//
// Recycled memory is what Release keeps (see Scope.Release). A ScopePool
// holds its idle scopes in a sync.Pool, so it gives them back as a
// sync.Pool does: an idle scope that two garbage collections find unused is
// dropped, and its memory with it.
//
// The zero ScopePool is ready to use; its fields may be set before first
// use, not after. A ScopePool is safe for concurrent use, and must not be
// copied after first use.
type ScopePool struct {
	_ noCopy

	// Name names the pool in Stats, metrics and messages.
	Name string
	// MaxBytes bounds the memory one scope from the pool takes between Get
	// and Put, for pool objects, slices, strings, maps and values together:
	// an allocation that would take it past MaxBytes fails with an error
	// wrapping ErrScopeLimit (a panic of AllocIn and the other allocating
	// calls, an error of TryAllocIn and of slabjson's decoding). Memory is
	// counted as the scope takes it, a pool word's slots or a chunk at a
	// time, and a scope's first chunk of a type is sized to what scopes
	// took of the type lately: a scope may take up to a chunk (at most 64
	// KiB) per type more than it hands out. Set MaxBytes well above what a
	// request needs, to stop the one that would take far more (a hostile
	// body, a runaway loop). Zero means no bound.
	MaxBytes int64

	states sync.Pool // *scopeState, idle

	registered  atomic.Bool
	gets        atomic.Uint64
	puts        atomic.Uint64
	inUseBytes  atomic.Int64
	allocated   atomic.Uint64
	limitErrors atomic.Uint64
}

// ScopePoolStats is a snapshot of a ScopePool's counters, for metrics. The
// counters are updated without a lock as scopes come and go, so while
// other goroutines get and put scopes the fields are read at slightly
// different moments; once they are quiescent the figures are exact.
type ScopePoolStats struct {
	Name string // ScopePool.Name
	// InUse is the number of scopes got (Get, GetContext) and not yet
	// put back.
	InUse int64
	// Gets counts the scopes ever got.
	Gets uint64
	// InUseBytes is the memory that the scopes in use have taken so far
	// (see ScopePool.MaxBytes for how it is counted).
	InUseBytes int64
	// AllocatedBytes counts the bytes of pool objects, slices, strings and
	// values handed out by the scopes that were put back: over Gets, the
	// memory a request allocates.
	AllocatedBytes uint64
	// LimitErrors counts the allocations refused because a scope reached
	// MaxBytes.
	LimitErrors uint64
}

// Stats returns a snapshot of sp's counters. It takes no lock.
func (sp *ScopePool) Stats() ScopePoolStats {
	puts := sp.puts.Load()
	gets := sp.gets.Load()
	return ScopePoolStats{
		Name:           sp.Name,
		InUse:          int64(gets - puts),
		Gets:           gets,
		InUseBytes:     sp.inUseBytes.Load(),
		AllocatedBytes: sp.allocated.Load(),
		LimitErrors:    sp.limitErrors.Load(),
	}
}

// register lists sp for package tracker's ScopePools, once.
func (sp *ScopePool) register() {
	if !sp.registered.Load() && sp.registered.CompareAndSwap(false, true) {
		registry.RegisterScopePool(sp)
	}
}

// get returns an idle state, or a new one, leased for a Get.
func (sp *ScopePool) get() *scopeState {
	sp.register()
	st, _ := sp.states.Get().(*scopeState)
	if st == nil {
		st = &scopeState{sp: sp}
	}
	st.limit = sp.MaxBytes
	sp.gets.Add(1)
	return st
}

// Get returns an empty scope, on recycled memory if there is some.
func (sp *ScopePool) Get() *Scope {
	st := sp.get()
	return &Scope{st: st, gen: st.ctl.Load()}
}

// Put releases s (see Scope.Release), ends it and keeps its memory for the
// next Get. s must come from Get or GetContext of sp; it must not be used
// after Put. If another goroutine's call on s is in progress, Put waits for
// it to end; calls that begin after Put did panic with ErrInvalidScope.
//
// Put panics with an error wrapping ErrNilScope if s is nil, and with one
// wrapping ErrInvalidScope if s was put already or Put runs on it on another
// goroutine. If a pool's reset function panicked during the release, Put
// panics with an error wrapping ErrResetPanicked once s is released and
// ended.
func (sp *ScopePool) Put(s *Scope) {
	if s == nil {
		panic(s.enterError(opPut, "", ""))
	}
	st := s.st
	if st == nil || st == &s.own {
		// A scope of NewScope or a zero Scope: it has no lease to end, and
		// its memory is in the *Scope itself.
		s.Release()
		return
	}
	// Close the lease once no call is inside it: from then on no call can
	// begin on it. A call in progress on another goroutine (one that
	// outlived its request) is short and never waits for this one, so wait
	// for it to leave; it clears only its own busy bit, which is why the
	// closing bit is set from the idle value alone.
	for {
		v := st.ctl.Load()
		if v&^ctlFlags != s.gen || v&ctlClosing != 0 {
			panic(s.enterError(opPut, "", ""))
		}
		if v&ctlBusy == 0 && st.ctl.CompareAndSwap(v, v|ctlClosing) {
			break
		}
		runtime.Gosched()
	}
	next := s.gen + ctlGen
	done := false
	defer func() {
		if !done {
			// The release did not return (a reset function called
			// runtime.Goexit, or the release broke): the lease ends all
			// the same, and the state, which may be half released, is
			// not reused.
			st.ctl.Store(next)
			sp.puts.Add(1)
		}
	}()
	used, err := st.release()
	sp.allocated.Add(uint64(used))
	done = true
	st.ctl.Store(next)
	sp.puts.Add(1)
	sp.states.Put(st)
	if err != nil {
		panic(err)
	}
}

// scopeCtx is a context carrying a scope from a ScopePool, allocated with
// the scope in one object.
type scopeCtx struct {
	context.Context
	s Scope
}

func (c *scopeCtx) Value(key any) any {
	if key == (scopeKey{}) {
		return &c.s
	}
	return c.Context.Value(key)
}

// GetContext is Get for a request: it returns the scope and a copy of ctx
// that carries it (see ScopeFrom), made together in one allocation where
// Get and WithScope make two. Put the scope back when ctx's work is done.
func (sp *ScopePool) GetContext(ctx context.Context) (context.Context, *Scope) {
	st := sp.get()
	c := &scopeCtx{Context: ctx}
	c.s.st, c.s.gen = st, st.ctl.Load()
	return c, &c.s
}

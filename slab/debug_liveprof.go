//go:build slabdebug

package slab

import (
	"runtime/pprof"
	"sync"
	"sync/atomic"

	"github.com/slabtrack/slabtrack/internal/debugmode"
)

// The runtime/pprof profile of live slab objects by allocation site, which
// debug builds fill when tracker.Settings.Profile is on. Only debug builds
// compile this file, so release binaries do not link runtime/pprof on the
// library's account.
//
// A pprof profile keeps each key it is given until Remove, so keys must not
// be the objects themselves (that would keep them, and their slab, alive):
// callers pass a small value naming the slot (profKey), never a pointer.

var (
	liveProfOnce    sync.Once
	liveProf        *pprof.Profile
	liveProfCreated atomic.Bool
)

// liveProfAdd records key with the calling goroutine's stack. skip 0
// starts the stack at the caller of liveProfAdd. key must not already be in
// the profile.
func liveProfAdd(key any, skip int) {
	liveProfOnce.Do(func() {
		liveProf = pprof.NewProfile(debugmode.ProfileName)
		liveProfCreated.Store(true)
	})
	liveProf.Add(key, skip+1)
}

// liveProfRemove removes key from the profile, if it is there.
func liveProfRemove(key any) {
	if liveProfCreated.Load() {
		liveProf.Remove(key)
	}
}

// Package liveprof keeps the runtime/pprof profile of live slab objects by
// allocation site, which debug builds fill when tracker.Settings.Profile is
// on. Only debug builds import it, so release binaries do not link
// runtime/pprof on slabtrack's account.
//
// A pprof profile keeps each key it is given until Remove, so keys must not
// be the objects themselves (that would keep them, and their slab, alive):
// callers pass a small value naming the slot, never a pointer.
package liveprof

import (
	"runtime/pprof"
	"sync"
	"sync/atomic"
)

// Name is the profile's name; tracker.ProfileName repeats it.
const Name = "github.com/slabtrack/slabtrack.live"

var (
	once    sync.Once
	prof    *pprof.Profile
	created atomic.Bool
)

// Add records key with the calling goroutine's stack. skip 0 starts the
// stack at the caller of Add. key must not already be in the profile.
func Add(key any, skip int) {
	once.Do(func() {
		prof = pprof.NewProfile(Name)
		created.Store(true)
	})
	prof.Add(key, skip+1)
}

// Remove removes key from the profile, if it is there.
func Remove(key any) {
	if created.Load() {
		prof.Remove(key)
	}
}

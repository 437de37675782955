//go:build race

package slab_test

import "runtime"

// raceDisable stops the race detector from reporting this goroutine's
// accesses, for tests whose hand-offs stand for the scheduler's, which the
// detector cannot see; raceEnable undoes it. They are helpers_test.go's,
// in files of their own: runtime.RaceDisable exists only under -race.
func raceDisable() { runtime.RaceDisable() }

func raceEnable() { runtime.RaceEnable() }

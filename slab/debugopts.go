package slab

import "fmt"

// debugConfig holds the options that only debug builds read. The zero value
// means "take the default from tracker.CurrentSettings when New runs".
//
// Debug mode's settings are the process's (tracker.Settings, documented
// there with the reason for the split); these three options override
// Settings.Quarantine, DropCheck and GuardPages for one pool, and are its
// only per-pool part.
type debugConfig struct {
	quarantine    int
	hasQuarantine bool
	dropCheck     bool
	hasDropCheck  bool
	guard         bool
	hasGuard      bool
}

// WithQuarantine sets how many freed slots the pool holds, poisoned, before
// it reuses them, in debug builds (-tags slabdebug). A write to a freed
// object is detected when its slot leaves the quarantine, when the slot is
// reused, and by tracker.Check; the longer the quarantine, the later a stale
// write can come and still be caught. 0 reuses slots at once (last in, first
// out, as release builds do). The default is tracker.CurrentSettings().
// Quarantine when New runs.
//
// A slot leaves the quarantine (its poison verified) once slots newer
// frees have pushed it out, or when Trim or the automatic trim empty it;
// the pool grows rather than reuse it earlier, so a debug build holds up to
// slots more objects' memory per pool than a release build. Slots in it
// count as freed, not as live or cached (Stats).
//
// Release builds ignore the option. New panics if slots < 0.
func WithQuarantine(slots int) Option {
	return func(c *config) {
		if slots < 0 {
			panic(fmt.Errorf("slab: WithQuarantine(%d): the quarantine cannot be negative", slots))
		}
		c.debug.quarantine, c.debug.hasQuarantine = slots, true
	}
}

// WithDropCheck turns drop detection on or off for the pool in debug builds;
// the default is tracker.CurrentSettings().DropCheck when New runs. With it,
// Alloc and TryAlloc return a pointer to a separate heap object per
// allocation (its slot in the slab stays assigned, for the counts), so that
// the garbage collector can tell when the program drops the object without
// Free: the object is then reported (tracker.Find, and the
// tracker.ViolationHandler if one is set) with its allocation stack, and
// its slot is reclaimed.
// AllocRef and AllocIn are unchanged: their objects are held by a handle or
// a scope. RefOf of such a heap object works: since a Ref holds no
// pointer, the pool then keeps the object alive until Free or FreeRef, and
// Get returns it; it is no longer watched for a drop.
//
// Release builds ignore the option.
func WithDropCheck(on bool) Option {
	return func(c *config) {
		c.debug.dropCheck, c.debug.hasDropCheck = on, true
	}
}

// WithGuardPages puts the pool's objects on guard pages, or takes them off,
// in debug builds; the default is tracker.CurrentSettings().GuardPages when
// New runs, which applies to pools of pointer-free types only. On guard
// pages, each object sits at the start of pages of its own, in memory the
// pool maps itself, and a freed object's pages are made inaccessible while
// its slot waits in the quarantine (see WithQuarantine): any read or write
// of it after Free, of a scalar field as well as a reference, faults at the
// access, and tracker.CatchFaults (or VerifyNone, VerifyTestMain,
// slabhttp.Middleware) turns the fault into a report naming the line that
// made it, the Free and the allocation.
//
// Each object then takes a whole page (4 KiB for most types) while live,
// and each Free and reuse a protection change (a few microseconds). The
// kernel bounds the mappings of a process (vm.max_map_count), and a
// protected slot between accessible ones takes two (a run of adjacent ones
// two in all), so guard pages draw on a fixed budget of mappings, shared by
// every pool of the process, as KFENCE's pool of guarded objects is fixed:
// at most 16384 mappings, and at most a quarter of those the process had
// left when guard pages were first used, so that the Go runtime never runs
// out of its own. Past the budget, a freed slot is poisoned instead of
// protected, Stats.GuardFallbacks counts it, and the first time one line on
// standard error says so. A pool with no quarantine protects nothing. Guard
// pages exist on Linux only; elsewhere the option is ignored.
//
// The garbage collector does not scan memory the pool maps, so New panics
// if on is true and T holds pointers (pointers, strings, slices, maps,
// chans, funcs or interfaces, at any depth). Release builds ignore the
// option, but for that check.
func WithGuardPages(on bool) Option {
	return func(c *config) {
		c.debug.guard, c.debug.hasGuard = on, true
	}
}

package tracker

import (
	"fmt"

	"github.com/slabtrack/slabtrack/internal/debugmode"
)

// Enabled reports whether debug mode is compiled in: true in builds with
// -tags slabdebug, false otherwise.
func Enabled() bool { return debugmode.Enabled }

// EnvVar is the environment variable that debug builds read at start-up to
// tune debug mode, as comma-separated key=value pairs:
//
//	SLABTRACK_DEBUG="stack=16,sample=1,quarantine=1024,dropped=1,pprof=1,fp=1,guard=1,onviolation=log"
//
// stack, sample, quarantine, dropped, pprof, fp and guard set the Settings
// fields StackDepth, SampleEvery, Quarantine, DropCheck, Profile,
// FramePointers and GuardPages (booleans as 0 or 1); onviolation=log installs
// LogAndContinue(slog.Default()) and onviolation=panic keeps the default.
// An unknown key or a bad value makes the program panic at start-up with a
// message naming it. The variable is read by package slab's debug build,
// whether or not the program imports tracker. Default builds never read it.
const EnvVar = "SLABTRACK_DEBUG"

// Settings tune debug mode, for the whole process. Default builds ignore
// them.
//
// Where debug settings live: Settings are process-wide, set at start-up
// from EnvVar (so that a test run or a staging host turns them on without
// a code change) and at run time with Configure. Three of them,
// Quarantine, DropCheck and GuardPages, are defaults that one pool can
// override when it is built, with slab.WithQuarantine, slab.WithDropCheck
// and slab.WithGuardPages: a pool whose objects need a longer quarantine or
// guard pages says so in its code. The others (stacks, sampling, the
// profile) concern the whole process and exist only here.
//
// The fields:
//   - StackDepth is the most frames recorded per allocation and free
//     stack, at most 64. 0 records no stacks: reports then lack sites, and
//     Alloc+Free costs far less. Default 16.
//   - SampleEvery records the allocation stack of one allocation in
//     SampleEvery, at random; free stacks are always recorded. Default 1.
//   - Quarantine is how many freed slots a pool holds, poisoned, before it
//     reuses them, for pools built without slab.WithQuarantine. 0 reuses
//     slots at once (they are still checked on reuse). Default 1024.
//   - DropCheck turns on drop detection for pools built without
//     slab.WithDropCheck: Alloc and TryAlloc return a separate heap object
//     per allocation, whose collection without Free is reported. It costs
//     a heap allocation per Alloc. Default off.
//   - Profile records every live object in the runtime/pprof profile
//     ProfileName (about 2 µs and 250 bytes per object). Default off.
//   - FramePointers records stacks by following frame pointers, as
//     AddressSanitizer's fast unwinder does: about 0.1 µs a stack instead
//     of runtime.Callers' 0.6 µs. Turn it off if stacks look wrong where C
//     code calls back into Go (cgo), where the Go runtime, too, stops
//     trusting frame pointers. Only amd64 uses it. Default on.
//   - GuardPages puts the objects of pools of pointer-free types on guard
//     pages, for pools built without slab.WithGuardPages: a freed object's
//     pages are inaccessible while its slot is in the quarantine, so any
//     read or write of it faults at the access. Pools of types with
//     pointers are left on the heap. It costs a page per object and a
//     protection change per Free and reuse; Linux only. Default off.
type Settings = debugmode.Settings

// ProfileName is the name of the runtime/pprof profile of live objects by
// allocation site, "github.com/slabtrack/slabtrack.live":
// go tool pprof http://host/debug/pprof/<ProfileName>.
const ProfileName = "github.com/slabtrack/slabtrack.live"

// DefaultSettings returns the settings before Configure or EnvVar change
// them: StackDepth 16, SampleEvery 1, Quarantine 1024, FramePointers on.
func DefaultSettings() Settings { return debugmode.Default() }

// CurrentSettings returns the settings in force.
func CurrentSettings() Settings { return debugmode.Current() }

// Configure replaces the settings. Stack depth and sampling apply to the
// next allocation; Quarantine, DropCheck and GuardPages apply to pools
// created after the call; Profile applies to allocations made after the
// call. It returns an error, and changes nothing, if a field is out of
// range.
func Configure(s Settings) error {
	if err := debugmode.Configure(s); err != nil {
		return fmt.Errorf("tracker: Configure: %w", err)
	}
	return nil
}

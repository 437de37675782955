package tracker

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/slabtrack/slabtrack/internal/stack"
)

// Enabled reports whether debug mode is compiled in: true in builds with
// -tags slabdebug, false otherwise.
func Enabled() bool { return enabled }

// EnvVar is the environment variable that debug builds read at start-up to
// tune debug mode, as comma-separated key=value pairs:
//
//	SLABTRACK_DEBUG="stack=16,sample=1,quarantine=1024,dropped=1,pprof=1,fp=1,guard=1,onviolation=log"
//
// stack, sample, quarantine, dropped, pprof, fp and guard set the Settings
// fields StackDepth, SampleRate, Quarantine, DropCheck, Profile,
// FramePointers and GuardPages (booleans as 0 or 1); onviolation=log installs
// LogAndContinue(slog.Default()) and onviolation=panic keeps the default.
// An unknown key or a bad value makes the program panic at start-up with a
// message naming it. Release builds never read the variable.
const EnvVar = "SLABTRACK_DEBUG"

// Settings tune debug mode. Release builds ignore them.
type Settings struct {
	// StackDepth is the most frames recorded per allocation and free
	// stack, at most 64. 0 records no stacks: reports then lack sites, and
	// Alloc+Free costs far less. Default 16.
	StackDepth int
	// SampleRate records the allocation stack of one allocation in
	// SampleRate, at random; free stacks are always recorded. Default 1.
	SampleRate int
	// Quarantine is how many freed slots a pool holds, poisoned, before it
	// reuses them, for pools built without slab.WithQuarantine. 0 reuses
	// slots at once (they are still checked on reuse). Default 1024.
	Quarantine int
	// DropCheck turns on drop detection for pools built without
	// slab.WithDropCheck: Alloc and TryAlloc return a separate heap object
	// per allocation, whose collection without Free is reported. It costs
	// a heap allocation per Alloc. Default off.
	DropCheck bool
	// Profile records every live object in the runtime/pprof profile
	// ProfileName (about 2 µs and 250 bytes per object). Default off.
	Profile bool
	// FramePointers records stacks by following frame pointers, as
	// AddressSanitizer's fast unwinder does: about 0.1 µs a stack instead
	// of runtime.Callers' 0.6 µs. Turn it off if stacks look wrong where C
	// code calls back into Go (cgo), where the Go runtime, too, stops
	// trusting frame pointers. Only amd64 uses it. Default on.
	FramePointers bool
	// GuardPages puts the objects of pools of pointer-free types on guard
	// pages, for pools built without slab.WithGuardPages: a freed object's
	// pages are inaccessible while its slot is in the quarantine, so any
	// read or write of it faults at the access. Pools of types with
	// pointers are left on the heap. It costs a page per object and a
	// protection change per Free and reuse; Linux only. Default off.
	GuardPages bool
}

// ProfileName is the name of the runtime/pprof profile of live objects by
// allocation site: go tool pprof http://host/debug/pprof/<ProfileName>.
const ProfileName = "github.com/slabtrack/slabtrack.live"

// DefaultSettings are the settings before Configure or EnvVar change them.
var DefaultSettings = Settings{StackDepth: 16, SampleRate: 1, Quarantine: 1024, FramePointers: true}

// settings holds the settings in force; nil means DefaultSettings.
var settings atomic.Pointer[Settings]

// CurrentSettings returns the settings in force.
func CurrentSettings() Settings {
	if s := settings.Load(); s != nil {
		return *s
	}
	return DefaultSettings
}

// Configure replaces the settings. Stack depth and sampling apply to the
// next allocation; Quarantine, DropCheck and GuardPages apply to pools
// created after the call; Profile applies to allocations made after the call. It returns an
// error, and changes nothing, if a field is out of range.
func Configure(s Settings) error {
	if err := s.validate(); err != nil {
		return err
	}
	store(s)
	return nil
}

func store(s Settings) {
	settings.Store(&s)
	stack.UseCallers.Store(!s.FramePointers)
}

func (s Settings) validate() error {
	if err := s.check(); err != nil {
		return fmt.Errorf("slab: tracker.Configure: %w", err)
	}
	return nil
}

// check returns the first field out of range, in a message without the
// "slab:" prefix, which its callers add once.
func (s Settings) check() error {
	switch {
	case s.StackDepth < 0 || s.StackDepth > 64:
		return fmt.Errorf("stack depth %d is outside [0, 64]", s.StackDepth)
	case s.SampleRate < 1:
		return fmt.Errorf("sample rate %d is below 1", s.SampleRate)
	case s.Quarantine < 0:
		return fmt.Errorf("quarantine %d is negative", s.Quarantine)
	}
	return nil
}

// parseSettings applies the EnvVar syntax to base. logMode is set by
// onviolation=log.
func parseSettings(env string, base Settings) (s Settings, logMode bool, err error) {
	s = base
	for item := range strings.SplitSeq(env, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, val, ok := strings.Cut(item, "=")
		if !ok {
			return s, false, fmt.Errorf("slab: %s: %q is not key=value", EnvVar, item)
		}
		if key == "onviolation" {
			switch val {
			case "log":
				logMode = true
			case "panic":
				logMode = false
			default:
				return s, false, fmt.Errorf("slab: %s: onviolation=%q: want log or panic", EnvVar, val)
			}
			continue
		}
		switch key {
		case "stack", "sample", "quarantine", "dropped", "pprof", "fp", "guard":
		default:
			return s, false, fmt.Errorf("slab: %s: unknown key %q (want stack, sample, quarantine, dropped, pprof, fp, guard or onviolation)", EnvVar, key)
		}
		n, err := strconv.Atoi(val)
		if err != nil {
			return s, false, fmt.Errorf("slab: %s: %s=%q is not a number", EnvVar, key, val)
		}
		switch key {
		case "stack":
			s.StackDepth = n
		case "sample":
			s.SampleRate = n
		case "quarantine":
			s.Quarantine = n
		case "dropped":
			s.DropCheck, err = flag(key, n)
		case "pprof":
			s.Profile, err = flag(key, n)
		case "fp":
			s.FramePointers, err = flag(key, n)
		case "guard":
			s.GuardPages, err = flag(key, n)
		}
		if err != nil {
			return s, false, err
		}
	}
	if err := s.check(); err != nil {
		return s, false, fmt.Errorf("slab: %s: %w", EnvVar, err)
	}
	return s, logMode, nil
}

func flag(key string, n int) (bool, error) {
	if n != 0 && n != 1 {
		return false, fmt.Errorf("slab: %s: %s=%d: want 0 or 1", EnvVar, key, n)
	}
	return n == 1, nil
}

// Package debugmode holds what debug mode (-tags slabdebug) is and how it is
// tuned: whether this build has it (Enabled), and the process-wide Settings
// in force, from SLABTRACK_DEBUG at start-up and from tracker.Configure at
// run time. Package slab reads the settings when it builds a pool and at each
// allocation; package tracker re-exports them (tracker.Settings,
// tracker.Configure, tracker.EnvVar).
//
// The per-pool options slab.WithQuarantine, slab.WithDropCheck and
// slab.WithGuardPages override Quarantine, DropCheck and GuardPages for one
// pool; the rest of the settings are the process's alone.
package debugmode

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/slabtrack/slabtrack/internal/stack"
)

// EnvVar is the environment variable that debug builds read at start-up.
// Its syntax is documented on tracker.EnvVar.
const EnvVar = "SLABTRACK_DEBUG"

// ProfileName is the name of the runtime/pprof profile of live objects by
// allocation site.
const ProfileName = "github.com/slabtrack/slabtrack.live"

// Settings tune debug mode; their meaning and ranges are documented on
// tracker.Settings, which is this type.
type Settings struct {
	StackDepth    int  // frames recorded per stack, in [0, stack.MaxDepth]
	SampleEvery   int  // one allocation stack in SampleEvery is recorded; >= 1
	Quarantine    int  // freed slots held per pool before reuse; >= 0
	DropCheck     bool // one heap object per Alloc, to find drops
	Profile       bool // live objects in the pprof profile ProfileName
	FramePointers bool // capture stacks by frame pointers (amd64)
	GuardPages    bool // pointer-free pools on guard pages (Linux)
}

// Default returns the settings before SLABTRACK_DEBUG or Configure change
// them.
func Default() Settings {
	return Settings{StackDepth: 16, SampleEvery: 1, Quarantine: 1024, FramePointers: true}
}

// current holds the settings in force; nil means Default().
var current atomic.Pointer[Settings]

// Current returns the settings in force.
func Current() Settings {
	if s := current.Load(); s != nil {
		return *s
	}
	return Default()
}

// Configure replaces the settings, or returns an error naming the first
// field out of range and changes nothing. The message has no prefix: the
// caller adds the one of its API.
func Configure(s Settings) error {
	if err := s.check(); err != nil {
		return err
	}
	current.Store(&s)
	stack.UseCallers.Store(!s.FramePointers)
	return nil
}

// check returns the first field out of range.
func (s Settings) check() error {
	switch {
	case s.StackDepth < 0 || s.StackDepth > stack.MaxDepth:
		return fmt.Errorf("stack depth %d is outside [0, %d]", s.StackDepth, stack.MaxDepth)
	case s.SampleEvery < 1:
		return fmt.Errorf("sample rate %d is below 1", s.SampleEvery)
	case s.Quarantine < 0:
		return fmt.Errorf("quarantine %d is negative", s.Quarantine)
	}
	return nil
}

// logFromEnv is set at start-up if EnvVar holds onviolation=log.
var logFromEnv atomic.Bool

// LogFromEnv reports whether EnvVar asked for violations to be logged
// (onviolation=log): package internal/violation then installs its logging
// handler at start-up.
func LogFromEnv() bool { return logFromEnv.Load() }

// Parse applies the EnvVar syntax to base. logMode is set by
// onviolation=log. An error names EnvVar and the key or value at fault,
// with no prefix.
func Parse(env string, base Settings) (s Settings, logMode bool, err error) {
	s = base
	for item := range strings.SplitSeq(env, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, val, ok := strings.Cut(item, "=")
		if !ok {
			return s, false, fmt.Errorf("%s: %q is not key=value", EnvVar, item)
		}
		if key == "onviolation" {
			switch val {
			case "log":
				logMode = true
			case "panic":
				logMode = false
			default:
				return s, false, fmt.Errorf("%s: onviolation=%q: want log or panic", EnvVar, val)
			}
			continue
		}
		switch key {
		case "stack", "sample", "quarantine", "dropped", "pprof", "fp", "guard":
		default:
			return s, false, fmt.Errorf("%s: unknown key %q (want stack, sample, quarantine, dropped, pprof, fp, guard or onviolation)", EnvVar, key)
		}
		n, err := strconv.Atoi(val)
		if err != nil {
			return s, false, fmt.Errorf("%s: %s=%q is not a number", EnvVar, key, val)
		}
		switch key {
		case "stack":
			s.StackDepth = n
		case "sample":
			s.SampleEvery = n
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
		return s, false, fmt.Errorf("%s: %w", EnvVar, err)
	}
	return s, logMode, nil
}

func flag(key string, n int) (bool, error) {
	if n != 0 && n != 1 {
		return false, fmt.Errorf("%s: %s=%d: want 0 or 1", EnvVar, key, n)
	}
	return n == 1, nil
}

package tracker

import (
	"log/slog"
	"sync/atomic"
)

// A Handler receives every Violation that debug builds detect. It runs on
// the goroutine that committed the violation (for a dropped object, on the
// runtime's cleanup goroutine) and must not call the pool that reported it.
type Handler func(*Violation)

var handler atomic.Pointer[Handler]

// SetHandler installs h and returns the handler it replaces. A nil h
// restores the default: panic with the *Violation.
//
// With a handler installed, the pool continues after a violation in a
// defined state: a bad Free or FreeRef (double, foreign, scoped, stale) is
// ignored and changes nothing; a write after free is repaired (the slot is
// zeroed) and the slot is used as if it had not been written. Calls that
// cannot continue without an object (Get of a stale Ref, RefOf of a freed
// object) still panic after the handler returns.
func SetHandler(h Handler) Handler {
	var old *Handler
	if h == nil {
		old = handler.Swap(nil)
	} else {
		old = handler.Swap(&h)
	}
	if old == nil {
		return nil
	}
	return *old
}

// Panics reports whether Report panics, that is, whether no handler is set.
func Panics() bool { return handler.Load() == nil }

// Report hands v to the handler set with SetHandler, or panics with v if
// none is set. Package slab calls it for every violation it detects.
func Report(v *Violation) {
	if h := handler.Load(); h != nil {
		(*h)(v)
		return
	}
	panic(v)
}

// LogAndContinue returns a Handler that logs each violation to l at level
// Error, with the whole report in the "report" attribute, and lets the
// program continue: for staging servers, where a crash costs more than a
// misused object. A nil l logs to slog.Default().
func LogAndContinue(l *slog.Logger) Handler {
	return func(v *Violation) {
		lg := l
		if lg == nil {
			lg = slog.Default()
		}
		lg.Error("slabtrack: "+v.Kind.String(),
			slog.String("pool", v.Pool),
			slog.String("type", v.Type),
			slog.Int("slot", v.Slot),
			slog.String("report", v.Error()))
	}
}

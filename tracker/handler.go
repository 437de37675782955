package tracker

import (
	"log/slog"

	"github.com/slabtrack/slabtrack/internal/violation"
)

// A ViolationHandler receives every Violation that debug builds detect,
// exactly once. It runs on the goroutine that committed the violation, or
// that found it (a write after free is found by an unrelated Alloc, Free,
// Trim or Check): for an object dropped without Free, the runtime's cleanup
// goroutine, and for what the automatic trim finds, the trim's own
// goroutine, where a panic ends the process. It must not call the pool that
// reported it.
type ViolationHandler = violation.Handler

// SetHandler installs h and returns the handler it replaces. A nil h
// restores the default handling:
//   - a violation committed by the calling goroutine (a bad Free, FreeRef,
//     RefOf or Get) panics with the *Violation, in that goroutine;
//   - a write after free, which is found later by a call that did not
//     commit it, is written to standard error, as the race detector writes
//     its reports, and kept until the next Check returns it: panicking
//     would blame the innocent call that found it, and net/http would
//     recover that panic in a request that did nothing wrong;
//   - an object dropped without Free is left to Find, which reports it.
//
// With a handler installed, the pool continues after a violation in a
// defined state: a bad Free or FreeRef (double, foreign, scoped, stale) is
// ignored and changes nothing; a write after free is repaired (the slot is
// zeroed) and the slot is used as if it had not been written. Calls that
// cannot continue without an object (Get of a stale Ref, RefOf of a freed
// object) still panic after the handler returns.
func SetHandler(h ViolationHandler) ViolationHandler { return violation.SetHandler(h) }

// LogAndContinue returns a ViolationHandler that logs each violation to l
// at level Error, as one record whose attributes hold the whole report
// (the stacks one line each, innermost frame first, frames separated by
// " < "), and lets the program continue: for staging servers, where a crash
// costs more than a misused object. A nil l logs to slog.Default().
func LogAndContinue(l *slog.Logger) ViolationHandler { return violation.LogAndContinue(l) }

package tracker

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

// A Handler receives every Violation that debug builds detect, exactly
// once. It runs on the goroutine that committed the violation, or that
// found it (a write after free is found by an unrelated Alloc, Free, Trim or
// Check), or, for an object dropped without Free and for what the automatic
// trim finds, on the runtime's cleanup goroutine, where a panic ends the
// process. It must not call the pool that reported it.
type Handler func(*Violation)

var handler atomic.Pointer[Handler]

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

// Panics reports whether no handler is set, so that Report panics with a
// violation committed by the calling goroutine.
func Panics() bool { return handler.Load() == nil }

// Report hands v to the handler set with SetHandler, or, if none is set,
// handles it by default (see SetHandler). Package slab calls it once for
// every violation it detects. Every reported violation is also counted,
// and the latest are kept, for WriteReport and Pools.
func Report(v *Violation) {
	note(v)
	if h := handler.Load(); h != nil {
		(*h)(v)
		return
	}
	switch {
	case v.Kind.committedByCaller():
		panic(v)
	case v.Kind == Dropped:
		// Find reports it, with the other leaks.
	default:
		keep(v)
	}
}

// deliver hands v, found by Check, to the handler if one is set: Check
// returns it to its caller as well.
func deliver(v *Violation) {
	note(v)
	if h := handler.Load(); h != nil {
		(*h)(v)
	}
}

// maxRecent bounds the violations kept for WriteReport, and maxKept those
// kept for Check by the default handling.
const (
	maxRecent = 16
	maxKept   = 256
)

// reported is the record of the violations reported so far.
var reported struct {
	mu     sync.Mutex
	counts map[string]map[Kind]uint64 // by pool, by kind
	recent []*Violation               // the last maxRecent, oldest first
	kept   []*Violation               // found by an innocent call with no handler set, for Check
	lost   int                        // kept violations dropped beyond maxKept
}

// stderr is where the default handling writes; tests replace it.
var stderr io.Writer = os.Stderr

func note(v *Violation) {
	reported.mu.Lock()
	defer reported.mu.Unlock()
	if reported.counts == nil {
		reported.counts = map[string]map[Kind]uint64{}
	}
	byKind := reported.counts[v.Pool]
	if byKind == nil {
		byKind = map[Kind]uint64{}
		reported.counts[v.Pool] = byKind
	}
	byKind[v.Kind]++
	if len(reported.recent) == maxRecent {
		copy(reported.recent, reported.recent[1:])
		reported.recent = reported.recent[:maxRecent-1]
	}
	reported.recent = append(reported.recent, v)
}

// keep writes v to standard error and keeps it for Check.
func keep(v *Violation) {
	reported.mu.Lock()
	if len(reported.kept) < maxKept {
		reported.kept = append(reported.kept, v)
	} else {
		reported.lost++
	}
	reported.mu.Unlock()
	fmt.Fprintf(stderr, "==================\nWARNING: slabtrack: %v found by a call that did not commit it; the program continues (tracker.Check returns it)\n%v\n==================\n", v.Kind, v)
}

// takeKept returns the violations kept by the default handling, and how
// many more were dropped, and forgets them.
func takeKept() ([]*Violation, int) {
	reported.mu.Lock()
	defer reported.mu.Unlock()
	vs, lost := reported.kept, reported.lost
	reported.kept, reported.lost = nil, 0
	return vs, lost
}

// reportedCounts returns the number of violations reported of pool, by
// kind name.
func reportedCounts(pool string) map[string]uint64 {
	reported.mu.Lock()
	defer reported.mu.Unlock()
	if len(reported.counts[pool]) == 0 {
		return nil
	}
	out := map[string]uint64{}
	for k, n := range reported.counts[pool] {
		out[k.String()] = n
	}
	return out
}

// recentReported returns the latest violations reported, oldest first.
func recentReported() []*Violation {
	reported.mu.Lock()
	defer reported.mu.Unlock()
	return append([]*Violation(nil), reported.recent...)
}

// LogAndContinue returns a Handler that logs each violation to l at level
// Error, as one record whose attributes hold the whole report (the stacks
// one line each, innermost frame first, frames separated by " < "), and
// lets the program continue: for staging servers, where a crash costs more
// than a misused object. A nil l logs to slog.Default().
func LogAndContinue(l *slog.Logger) Handler {
	return func(v *Violation) {
		lg := l
		if lg == nil {
			lg = slog.Default()
		}
		attrs := []any{
			slog.String("summary", v.summary()),
			slog.String("pool", v.Pool),
			slog.String("type", v.Type),
			slog.Int("slot", v.Slot),
		}
		if v.Addr != 0 {
			attrs = append(attrs, slog.String("addr", fmt.Sprintf("%#x", v.Addr)))
		}
		if v.Err != nil {
			attrs = append(attrs, slog.String("error", v.Err.Error()))
		}
		if v.Detail != "" {
			attrs = append(attrs, slog.String("detail", v.Detail))
		}
		if v.Kind == WriteAfterFree && v.Got != nil {
			attrs = append(attrs,
				slog.String("field", v.fieldName()),
				slog.String("found", fmt.Sprintf("% x", v.Got)),
				slog.String("expected", fmt.Sprintf("% x", v.Want)))
		}
		if len(v.Call) > 0 {
			key := "call"
			if v.Kind == WriteAfterFree {
				key = "found_by" // an innocent call: the writer is not known
			}
			attrs = append(attrs, slog.String(key, oneLine(v.Call)))
		}
		if len(v.Free) > 0 || v.FreeAge > 0 {
			attrs = append(attrs, slog.String("freed", oneLine(v.Free)), slog.Duration("freed_ago", v.FreeAge))
		}
		if len(v.Alloc) > 0 || v.AllocAge > 0 {
			attrs = append(attrs, slog.String("allocated", oneLine(v.Alloc)), slog.Duration("allocated_ago", v.AllocAge))
		}
		if v.Kind == Leak {
			attrs = append(attrs, slog.String("report", strings.ReplaceAll(v.Error(), "\n", " | ")))
		}
		lg.Error("slabtrack: "+v.Kind.String(), attrs...)
	}
}

// oneLine formats s on one line, innermost frame first.
func oneLine(s Stack) string {
	if len(s) == 0 {
		return "(no stack recorded)"
	}
	parts := make([]string, len(s))
	for i, f := range s {
		parts[i] = fmt.Sprintf("%s %s:%d", f.Function, f.File, f.Line)
	}
	return strings.Join(parts, " < ")
}

package violation

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/slabtrack/slabtrack/internal/debugmode"
)

// A Handler receives every Violation that debug builds detect, exactly
// once; see tracker.ViolationHandler, which is this type.
type Handler func(*Violation)

var handler atomic.Pointer[Handler]

// SetHandler installs h and returns the handler it replaces; a nil h
// restores the default handling, which Report implements. What each
// handling means for the user is documented on tracker.SetHandler.
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

// CurrentHandler returns the handler set with SetHandler, nil if none.
func CurrentHandler() Handler {
	if h := handler.Load(); h != nil {
		return *h
	}
	return nil
}

// Panics reports whether no handler is set, so that Report panics with a
// violation committed by the calling goroutine. Package slab asks it where
// it would otherwise go on after a violation.
func Panics() bool { return handler.Load() == nil }

// init installs LogAndContinue if SLABTRACK_DEBUG says onviolation=log
// (debug builds; package debugmode has read the variable already).
func init() {
	if debugmode.LogFromEnv() {
		SetHandler(LogAndContinue(nil))
	}
}

// Report hands v to the handler set with SetHandler, or, if none is set,
// handles it by default: it panics with a violation committed by the
// calling goroutine, keeps a write after free for tracker.Check (writing it
// to standard error), and leaves a dropped object to tracker.Find. Package
// slab calls it once for every violation it detects. Every reported
// violation is also counted, and the latest are kept, for
// tracker.WriteReport and tracker.Pools.
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

// Deliver hands v, found by Check, to the handler if one is set: Check
// returns it to its caller as well.
func Deliver(v *Violation) {
	note(v)
	if h := handler.Load(); h != nil {
		(*h)(v)
	}
}

// MaxRecent bounds the violations kept for WriteReport, and maxKept those
// kept for Check by the default handling.
const (
	MaxRecent = 16
	maxKept   = 256
)

// reported is the record of the violations reported so far.
var reported struct {
	mu     sync.Mutex
	counts map[string]map[Kind]uint64 // by pool, by kind
	recent []*Violation               // the last MaxRecent, oldest first
	kept   []*Violation               // found by an innocent call with no handler set, for Check
	lost   int                        // kept violations dropped beyond maxKept
}

// stderr is where the default handling writes; tests replace it.
var stderr io.Writer = os.Stderr

// SetStderr replaces the writer of the default handling, for tests, and
// returns a function that restores it.
func SetStderr(w io.Writer) (restore func()) {
	old := stderr
	stderr = w
	return func() { stderr = old }
}

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
	if len(reported.recent) == MaxRecent {
		copy(reported.recent, reported.recent[1:])
		reported.recent = reported.recent[:MaxRecent-1]
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

// TakeKept returns the violations kept by the default handling, and how
// many more were dropped, and forgets them.
func TakeKept() ([]*Violation, int) {
	reported.mu.Lock()
	defer reported.mu.Unlock()
	vs, lost := reported.kept, reported.lost
	reported.kept, reported.lost = nil, 0
	return vs, lost
}

// Counts returns the number of violations reported of pool, by
// kind name.
func Counts(pool string) map[string]uint64 {
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

// Recent returns the latest violations reported, oldest first.
func Recent() []*Violation {
	reported.mu.Lock()
	defer reported.mu.Unlock()
	return append([]*Violation(nil), reported.recent...)
}

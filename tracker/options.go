package tracker

import (
	"time"

	"github.com/slabtrack/slabtrack/internal/registry"
)

// An Option changes what Find, VerifyNone and VerifyTestMain count as a
// leak, or how long they wait for objects to be freed.
type Option func(*options)

type options struct {
	ignorePools map[string]bool
	// ignore holds the objects live (or dropped) when IgnoreCurrent was
	// called, in debug builds.
	ignore map[objKey]bool
	// baseline holds each pool's live count when IgnoreCurrent was called,
	// in release builds, which have no per-object records.
	baseline   map[uint64]int64
	maxRetries int
	maxSleep   time.Duration
}

// objKey identifies one allocation: a slot of a pool and which of the
// slot's successive allocations.
type objKey struct {
	pool    uint64
	slot    int
	serial  uint32
	dropped bool
}

// The defaults follow goleak: up to 20 retries, sleeping from 1 µs doubling
// up to 100 ms, so that objects freed by asynchronous teardown (a handler
// still writing its response, a worker draining a queue) are not reported.
const (
	defaultRetries  = 20
	defaultMaxSleep = 100 * time.Millisecond
)

func buildOptions(opts []Option) *options {
	o := &options{
		ignorePools: map[string]bool{},
		ignore:      map[objKey]bool{},
		baseline:    map[uint64]int64{},
		maxRetries:  defaultRetries,
		maxSleep:    defaultMaxSleep,
	}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// IgnoreCurrent makes the objects allocated when IgnoreCurrent is called
// (and, with drop detection, the objects already found dropped) not count
// as leaks. Call it at the start of a test: defer
// tracker.VerifyNone(t, tracker.IgnoreCurrent()) evaluates it at once.
//
// Debug builds remember each object, so an object freed and another
// allocated in its place is a leak. Release builds remember each pool's live
// count and report only growth.
func IgnoreCurrent() Option {
	ignore := map[objKey]bool{}
	baseline := map[uint64]int64{}
	registry.Each(func(p registry.Pool) {
		c := p.Counters()
		baseline[c.ID] = c.Live
		for _, obj := range p.LiveObjects(nil) {
			ignore[objKey{c.ID, obj.Slot, obj.Serial, false}] = true
		}
		for _, obj := range p.Dropped(nil) {
			ignore[objKey{c.ID, obj.Slot, obj.Serial, true}] = true
		}
	})
	return func(o *options) {
		for k := range ignore {
			o.ignore[k] = true
		}
		for id, n := range baseline {
			o.baseline[id] += n
		}
	}
}

// IgnorePool makes the objects of the pools named name (see slab.WithName;
// the default name is the element type, such as "main.Order") not count as
// leaks.
func IgnorePool(name string) Option {
	return func(o *options) { o.ignorePools[name] = true }
}

// MaxRetries sets how many times Find looks again, after a growing sleep,
// before it reports the objects still allocated. 0 reports at once.
func MaxRetries(n int) Option {
	return func(o *options) { o.maxRetries = max(n, 0) }
}

// MaxSleep sets the longest sleep between two of Find's looks.
func MaxSleep(d time.Duration) Option {
	return func(o *options) { o.maxSleep = max(d, time.Microsecond) }
}

package tracker

import (
	"math/bits"
	"sync"
	"time"

	"github.com/slabtrack/slabtrack/internal/debugmode"
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
	// before holds, per pool, the slots live when IgnoreCurrent was
	// called, in default builds, which have no record per object.
	before map[uint64][]uint64
	// marks holds the test marks of ThisTest: in debug builds, only objects
	// allocated under one of them (or a mark started under one) count.
	marks map[uint32]bool
	// unattributed is set by ThisTest where objects cannot be attributed
	// to tests (default builds); the report says so.
	unattributed bool
	maxRetries   int
	maxSleep     time.Duration
}

// objKey identifies one allocation: a slot of a pool and which of the
// slot's successive allocations.
type objKey struct {
	pool    uint64
	slot    int
	serial  uint32
	dropped bool
}

// The defaults: up to 20 retries, sleeping from 1 µs doubling up to 100 ms
// (under half a second in all), so that objects freed by asynchronous
// teardown (a handler still writing its response, a worker draining a
// queue) are not reported. goleak retries as often but sleeps at most
// 100 µs: a goroutine ends soon after its work, while an object waits for
// the teardown code that frees it, which may itself wait on I/O.
const (
	defaultRetries  = 20
	defaultMaxSleep = 100 * time.Millisecond
)

func buildOptions(opts []Option) *options {
	o := &options{
		ignorePools: map[string]bool{},
		ignore:      map[objKey]bool{},
		before:      map[uint64][]uint64{},
		marks:       map[uint32]bool{},
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
// allocated in its place is a leak. Default builds keep no record per
// object, only which slots hold one: they remember the slots live at the
// call, and count the objects in other slots. So a new object is missed if
// it took the slot of an object that was live at the call and has been
// freed since; counting alone would miss more (any new object, whenever
// another test freed an older one).
//
// IgnoreCurrent does not tell tests apart: objects that tests running in
// parallel (t.Parallel) allocate meanwhile count too. Use ThisTest for that.
func IgnoreCurrent() Option {
	ignore := map[objKey]bool{}
	before := map[uint64][]uint64{}
	registry.Each(func(p registry.Pool) {
		c := p.Counters()
		if !debugmode.Enabled {
			before[c.ID] = p.LiveSlots(nil)
			return
		}
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
		for id, live := range before {
			o.before[id] = orWords(o.before[id], live)
		}
	}
}

func orWords(a, b []uint64) []uint64 {
	if len(a) < len(b) {
		a = append(a, make([]uint64, len(b)-len(a))...)
	}
	for i, w := range b {
		a[i] |= w
	}
	return a
}

// ThisTest makes Find, VerifyNone and VerifyTestMain count only the objects
// that the test t allocated: in debug builds, the objects allocated by the
// calling goroutine from this call on, by the goroutines it starts after
// the call, and by the goroutines those start, subtests included. It is
// what VerifyNone needs in a test that runs in parallel with others
// (t.Parallel): call it first thing, on the test's goroutine,
//
//	defer tracker.VerifyNone(t, tracker.ThisTest(t))
//
// which evaluates it at once.
//
// Debug builds mark the goroutine with a runtime/pprof label (key
// "slabtrack.test", which CPU profiles show too), which the Go runtime
// copies to every goroutine the goroutine starts, and record the mark with
// each allocation. An object
// allocated by a goroutine that replaced its labels (pprof.Do or
// SetGoroutineLabels with a context that lacks the mark) is not the test's;
// nor is one allocated by a goroutine started before the call, such as a
// server that the test reuses.
//
// Default builds record nothing per allocation, so they cannot tell tests
// apart: there ThisTest is IgnoreCurrent, and the report says that it may
// count the objects of tests running in parallel. Goleak has the same
// limit for goroutines: it recommends VerifyTestMain for parallel tests,
// which works in every build, once all tests are done.
func ThisTest(t TestingT) Option {
	name := ""
	if n, ok := t.(interface{ Name() string }); ok {
		name = n.Name()
	}
	mark := markTest(name)
	ignore := IgnoreCurrent()
	return func(o *options) {
		ignore(o)
		if mark != 0 {
			o.marks[mark] = true
		} else {
			o.unattributed = true
		}
	}
}

// marks records each test mark's parent (the mark it replaced), so that a
// test's objects include its subtests'.
var marks struct {
	sync.Mutex
	parent map[uint32]uint32
}

// under reports whether mark is one of want or was started under one.
func under(mark uint32, want map[uint32]bool) bool {
	marks.Lock()
	defer marks.Unlock()
	for seen := 0; mark != 0 && seen < 1<<16; seen++ {
		if want[mark] {
			return true
		}
		mark = marks.parent[mark]
	}
	return false
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

// newSlots returns the number of slots live in now and not in before.
func newSlots(now, before []uint64) int {
	n := 0
	for i, w := range now {
		if i < len(before) {
			w &^= before[i]
		}
		n += bits.OnesCount64(w)
	}
	return n
}

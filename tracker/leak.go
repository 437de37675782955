package tracker

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slabtrack/slabtrack/internal/clock"
	"github.com/slabtrack/slabtrack/internal/debugmode"
	"github.com/slabtrack/slabtrack/internal/faultreport"
	"github.com/slabtrack/slabtrack/internal/registry"
	"github.com/slabtrack/slabtrack/internal/stack"
)

// Find returns a *Violation of kind Leak if any pool has objects allocated
// and not freed, other than those the options ignore, and nil otherwise.
// Like goleak it looks again a few times, sleeping in between, before it
// reports, so that asynchronous teardown can finish (see MaxRetries).
//
// In debug builds the report groups the objects by allocation stack, with
// counts, bytes and ages, and includes the objects that drop detection found
// unreachable without Free. Default builds count the live objects of each
// pool and say to rebuild with -tags slabdebug for the sites.
func Find(opts ...Option) error {
	o := buildOptions(opts)
	sleep := time.Microsecond
	for i := 0; ; i++ {
		sites := o.leakedSites()
		if len(sites) == 0 {
			return nil
		}
		if i >= o.maxRetries {
			v := &Violation{Kind: Leak, Slot: -1, Sites: sites}
			if o.unattributed {
				v.Detail = "default builds do not record which test allocated an object: these include the objects of tests running in parallel with this one (build with -tags slabdebug to count this test's alone, or use VerifyTestMain)"
			}
			return v
		}
		time.Sleep(sleep)
		sleep = min(2*sleep, o.maxSleep)
	}
}

// TestingT is the part of *testing.T that VerifyNone uses.
type TestingT interface {
	Error(args ...any)
}

// TestingM is the part of *testing.M that VerifyTestMain uses.
type TestingM interface {
	Run() int
}

// VerifyNone fails the test with the leak report if Find finds leaks. Use it
// at the end of a test, or deferred:
//
//	defer tracker.VerifyNone(t, tracker.IgnoreCurrent())
//
// Without options it counts every object of every pool, and IgnoreCurrent
// counts every object allocated since, whichever test allocated it: in a
// test that runs in parallel with others (t.Parallel), the other tests'
// objects in flight would be reported as this test's leaks. There, use
// ThisTest, which in debug builds counts only the objects allocated by the
// test's own goroutines:
//
//	defer tracker.VerifyNone(t, tracker.ThisTest(t))
//
// Default builds cannot tell tests apart (they record nothing per
// allocation): for parallel tests there, check once all tests are done,
// with VerifyTestMain, as goleak recommends for goroutines.
//
// Deferred, it also reports a fault on a freed object, as CatchFaults does:
// if the test panics because it read a freed object (see PanicOnFault),
// VerifyNone recovers the fault and fails the test with the report instead
// of the leak check, and the other tests run on. Any other panic is
// panicked again unchanged.
func VerifyNone(t TestingT, opts ...Option) {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	if r := recover(); r != nil {
		v := faultreport.Of(r)
		if v == nil {
			panic(r)
		}
		t.Error(v)
		return
	}
	if err := Find(opts...); err != nil {
		t.Error(err)
	}
}

// osExit is os.Exit, replaced by tests of VerifyTestMain.
var osExit = os.Exit

// VerifyTestMain runs the tests of m and, if they pass, checks for leaks
// with Find; it exits with status 1 and prints the report if there are any.
// Call it from TestMain:
//
//	func TestMain(m *testing.M) { tracker.VerifyTestMain(m) }
//
// Examples run on TestMain's goroutine: VerifyTestMain turns faults there
// into panics (PanicOnFault) and reports a fault on a freed object as
// CatchFaults does. Tests run on goroutines of their own: use VerifyNone,
// deferred, in them.
func VerifyTestMain(m TestingM, opts ...Option) {
	PanicOnFault()
	defer CatchFaults()
	code := m.Run()
	if code == 0 {
		if err := Find(opts...); err != nil {
			fmt.Fprintf(os.Stderr, "slabtrack: the tests passed but left objects allocated:\n%v\n", err)
			code = 1
		}
	}
	osExit(code)
}

// leakedSites returns the sites of the objects that o does not ignore.
func (o *options) leakedSites() []Site {
	var sites []Site
	registry.Each(func(p registry.Pool) {
		c := p.Counters()
		if o.ignorePools[c.Name] {
			return
		}
		if !debugmode.Enabled {
			if n := newSlots(p.LiveSlots(nil), o.before[c.ID]); n > 0 {
				sites = append(sites, Site{Pool: c.Name, Type: c.Type, Objects: n, Bytes: int64(n) * int64(c.Size)})
				// The sites of the objects the pool sampled (WithSampling),
				// other than those of slots live before IgnoreCurrent.
				before := o.before[c.ID]
				sampled := slices.DeleteFunc(p.LiveObjects(nil), func(obj registry.Object) bool {
					k := obj.Slot / 64
					return k < len(before) && before[k]&(1<<(obj.Slot%64)) != 0
				})
				sites = append(sites, groupSites(c, sampled, false)...)
			}
			return
		}
		keep := func(objs []registry.Object, dropped bool) []registry.Object {
			return slices.DeleteFunc(objs, func(obj registry.Object) bool {
				return o.ignore[objKey{c.ID, obj.Slot, obj.Serial, dropped}] ||
					len(o.marks) > 0 && !under(obj.Mark, o.marks)
			})
		}
		sites = append(sites, groupSites(c, keep(p.Dropped(nil), true), true)...)
		sites = append(sites, groupSites(c, keep(p.LiveObjects(nil), false), false)...)
	})
	sortSites(sites)
	return sites
}

// groupSites groups the objects of one pool by allocation stack, the way
// LeakSanitizer does. Stacks that differ only inside slabtrack (the fast and
// the slow allocation path) make one site. The sampled objects of default
// builds (WithSampling) count for their weight, and make sampled sites.
func groupSites(c registry.Counters, objs []registry.Object, dropped bool) []Site {
	return groupEach(c, func(fn func(registry.Object)) {
		for _, o := range objs {
			fn(o)
		}
	}, dropped)
}

// liveEacher is a registered pool that can visit its live objects without
// a slice of them all (slab's pools can).
type liveEacher interface {
	EachLiveObject(fn func(registry.Object))
}

// liveSites groups the live objects of p by site, visiting them one by one
// where p can, so that a pool of millions of live objects costs the report
// its sites, not a record per object.
func liveSites(p registry.Pool) []Site {
	c := p.Counters()
	if e, ok := p.(liveEacher); ok {
		return groupEach(c, e.EachLiveObject, false)
	}
	return groupSites(c, p.LiveObjects(nil), false)
}

// groupEach is groupSites of the objects that each visits.
func groupEach(c registry.Counters, each func(func(registry.Object)), dropped bool) []Site {
	// Objects are grouped by their stack's ID first, and each ID's frames
	// are symbolised and keyed once: a pool may have millions of live
	// objects from a handful of sites.
	byID := map[stack.ID]*Site{}
	bySite := map[string]*Site{}
	var order []string
	now := clock.Now()
	each(func(obj registry.Object) {
		s := byID[obj.Stack]
		if s == nil {
			fr := Stack(obj.Stack.Frames())
			key := stackKey(fr)
			if s = bySite[key]; s == nil {
				s = &Site{Pool: c.Name, Type: c.Type, Stack: fr, Dropped: dropped, MinAge: time.Duration(1<<63 - 1)}
				bySite[key] = s
				order = append(order, key)
			}
			byID[obj.Stack] = s
		}
		age := clock.Since(now, obj.AllocAt)
		n := max(1, obj.Weight) // a sampled object stands for Weight objects
		if obj.Weight > 0 {
			s.Sampled++
		}
		s.Objects += n
		s.Bytes += int64(n) * int64(c.Size)
		s.MinAge = min(s.MinAge, age)
		s.MaxAge = max(s.MaxAge, age)
	})
	if len(order) == 0 {
		return nil
	}
	out := make([]Site, 0, len(order))
	for _, k := range order {
		out = append(out, *bySite[k])
	}
	return out
}

func stackKey(s Stack) string {
	var b strings.Builder
	for _, f := range s {
		b.WriteString(f.Function)
		b.WriteByte(' ')
		b.WriteString(f.File)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(f.Line))
		b.WriteByte('\n')
	}
	return b.String()
}

// sortSites orders sites as LeakSanitizer does, largest first; dropped
// objects before live ones, since they are leaks for certain. The sampled
// sites of a pool (default builds) follow the site that counts its objects.
func sortSites(sites []Site) {
	exact := map[string]int64{} // the bytes of each pool's counted objects
	for _, s := range sites {
		if s.Sampled == 0 {
			exact[s.Pool] += s.Bytes
		}
	}
	size := func(s Site) int64 {
		if b, ok := exact[s.Pool]; ok && s.Sampled > 0 {
			return b
		}
		return s.Bytes
	}
	slices.SortStableFunc(sites, func(a, b Site) int {
		if a.Dropped != b.Dropped {
			if a.Dropped {
				return -1
			}
			return 1
		}
		return cmp.Or(
			cmp.Compare(size(b), size(a)),
			cmp.Compare(a.Pool, b.Pool),
			cmp.Compare(min(a.Sampled, 1), min(b.Sampled, 1)),
			cmp.Compare(b.Bytes, a.Bytes))
	})
}

package tracker_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

const orderSize = int64(unsafe.Sizeof(Order{}))

// sitesOf returns the sites of pool in err, a leak report.
func sitesOf(t *testing.T, err error, pool string) []tracker.Site {
	t.Helper()
	var v *tracker.Violation
	require.ErrorAs(t, err, &v, "Find returns a *tracker.Violation")
	require.Equal(t, tracker.Leak, v.Kind, "the kind of a leak report")
	var out []tracker.Site
	for _, s := range v.Sites {
		if s.Pool == pool {
			out = append(out, s)
		}
	}
	return out
}

func TestFindNothingLeaked(t *testing.T) {
	p := slab.New[Order](slab.WithName(t.Name()))
	for range 10 {
		freeOrder(p, allocOrder(p))
	}
	assert.NoError(t, tracker.Find(tracker.MaxRetries(0)), "no object is left allocated")
}

// Item 7: leaks, grouped by allocation site with counts and bytes in debug
// builds, counted per pool in default builds.
func TestFindReportsLeaks(t *testing.T) {
	p := slab.New[Order](slab.WithName(t.Name()))
	var objs []*Order
	for range 3 {
		objs = append(objs, allocOrder(p))
	}
	for range 2 {
		objs = append(objs, allocOtherOrder(p))
	}
	err := tracker.Find(tracker.MaxRetries(0))
	require.Error(t, err, "five objects are leaked")
	assert.ErrorIs(t, err, tracker.ErrLeak, "a leak report matches tracker.ErrLeak")
	sites := sitesOf(t, err, t.Name())
	report := err.Error()
	assert.True(t, strings.HasPrefix(report, "slab: leak: "), "the title starts like slab's errors: %q", report)
	assert.Contains(t, report, "\nSUMMARY: slabtrack: 5 object(s), "+fmt.Sprint(5*orderSize)+" bytes leaked", "the SUMMARY totals the leaks")

	if debugBuild {
		require.Len(t, sites, 2, "two allocation sites")
		assert.Equal(t, 3, sites[0].Objects, "the larger site first")
		assert.Equal(t, 3*orderSize, sites[0].Bytes, "its bytes")
		assert.True(t, sites[0].Stack.Has("allocOrder"), "the site names allocOrder: %v", sites[0].Stack)
		assert.Equal(t, 2, sites[1].Objects, "the smaller site")
		assert.True(t, sites[1].Stack.Has("allocOtherOrder"), "the site names allocOtherOrder: %v", sites[1].Stack)
		assert.Positive(t, sites[0].MaxAge, "the report gives ages")
		assert.Contains(t, report, fmt.Sprintf("3 object(s), %d bytes of *tracker_test.Order (pool %q) allocated from", 3*orderSize, t.Name()),
			"LeakSanitizer's N object(s), B bytes allocated from")
	} else {
		require.Len(t, sites, 1, "default builds count per pool")
		assert.Equal(t, 5, sites[0].Objects, "the pool's live objects")
		assert.Equal(t, 5*orderSize, sites[0].Bytes, "their bytes")
		assert.Empty(t, sites[0].Stack, "default builds record no stacks")
		assert.Contains(t, report, "rebuild with -tags slabdebug", "the report says how to get the sites")
	}

	for _, x := range objs {
		freeOrder(p, x)
	}
	assert.NoError(t, tracker.Find(tracker.MaxRetries(0)), "nothing is leaked once all are freed")
}

// A pool that samples (slab.WithSampling) records the allocation sites of
// its sampled objects in default builds too: Find names them, after the
// pool's exact count, and /debug/slab lists them. Debug builds name every
// site, as TestFindReportsLeaks checks.
func TestFindNamesSampledSites(t *testing.T) {
	if debugBuild {
		t.Skip("debug builds record every site; TestFindReportsLeaks checks them")
	}
	p := slab.New[Order](slab.WithName(t.Name()), slab.WithSampling(1))
	var objs []*Order
	for range 3 {
		objs = append(objs, allocOrder(p))
	}
	objs = append(objs, allocOtherOrder(p))
	err := tracker.Find(tracker.MaxRetries(0))
	sites := sitesOf(t, err, t.Name())
	require.Len(t, sites, 3, "the pool's count, then its two sampled sites")
	assert.Equal(t, 4, sites[0].Objects, "first the pool's exact count")
	assert.Zero(t, sites[0].Sampled, "which is not a sample")
	assert.Equal(t, 3, sites[1].Objects, "then the larger sampled site")
	assert.Equal(t, 3, sites[1].Sampled, "every object of it sampled")
	assert.True(t, sites[1].Stack.Has("allocOrder"), "the site names allocOrder: %v", sites[1].Stack)
	assert.True(t, sites[2].Stack.Has("allocOtherOrder"), "the other site names allocOtherOrder: %v", sites[2].Stack)
	report := err.Error()
	assert.Contains(t, report, "3 of them (each sampled) allocated from", "the report gives the sampled sites")
	assert.Contains(t, report, "SUMMARY: slabtrack: 4 object(s), ", "the totals count each object once")

	var b strings.Builder
	require.NoError(t, tracker.WriteReport(&b), "the report is written")
	assert.Contains(t, b.String(), "recorded only for the objects that pools with slab.WithSampling sample", "the report says what default builds record")
	assert.Contains(t, b.String(), "allocOrder", "and lists the sampled sites")

	for _, x := range objs {
		freeOrder(p, x)
	}
}

func TestFindIgnoreCurrent(t *testing.T) {
	// One P, so that a freed slot is the next one allocated.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	// No quarantine, so that debug builds, too, reuse the slot at once.
	p := slab.New[Order](slab.WithName(t.Name()), slab.WithQuarantine(0))
	old := []*Order{allocOrder(p), allocOrder(p)}
	ignore := tracker.IgnoreCurrent()
	assert.NoError(t, tracker.Find(ignore, tracker.MaxRetries(0)), "objects live at IgnoreCurrent are not leaks")

	x := allocOtherOrder(p)
	sites := sitesOf(t, tracker.Find(ignore, tracker.MaxRetries(0)), t.Name())
	require.Len(t, sites, 1, "an object allocated later is a leak")
	assert.Equal(t, 1, sites[0].Objects, "one object")
	if debugBuild {
		assert.True(t, sites[0].Stack.Has("allocOtherOrder"), "the site names allocOtherOrder")
	}

	// Another test frees an older object: the live count is back to what
	// it was, and the new object is still reported, in every build.
	freeOrder(p, old[1])
	sites = sitesOf(t, tracker.Find(ignore, tracker.MaxRetries(0)), t.Name())
	require.Len(t, sites, 1, "freeing an old object does not hide the new one")
	assert.Equal(t, 1, sites[0].Objects, "the new object")

	// A new object in the slot of the freed old one: debug builds tell it
	// apart; default builds, which record which slots are live and nothing
	// per object, cannot (IgnoreCurrent documents it).
	y := allocOtherOrder(p)
	require.Same(t, old[1], y, "the new object took the old one's slot")
	n := 0
	for _, s := range sitesOf(t, tracker.Find(ignore, tracker.MaxRetries(0)), t.Name()) {
		n += s.Objects
	}
	if debugBuild {
		assert.Equal(t, 2, n, "debug builds remember objects, not slots")
	} else {
		assert.Equal(t, 1, n, "default builds miss the object that reuses an ignored slot")
	}
	freeOrder(p, x)
	freeOrder(p, y)
	assert.NoError(t, tracker.Find(ignore, tracker.MaxRetries(0)), "nothing new is live")
	freeOrder(p, old[0])
}

// The free slots a scope takes in a batch, and keeps after Release for its
// next use, hold no object: Find counts the objects handed out in the scope
// until Release, and none after it, in every build.
func TestFindCountsNoFreeSlotOfAScope(t *testing.T) {
	p := slab.New[Order](slab.WithName(t.Name()))
	ignore := tracker.IgnoreCurrent()
	s := slab.NewScope()
	for range 3 {
		p.AllocIn(s)
	}
	if !debugBuild { // debug builds take scoped slots one by one
		require.Positive(t, p.Stats().ScopeFree, "the scope took more slots than it handed out")
	}
	n := 0
	for _, site := range sitesOf(t, tracker.Find(ignore, tracker.MaxRetries(0)), t.Name()) {
		n += site.Objects
	}
	assert.Equal(t, 3, n, "the three objects in the scope are live, its free slots are not")

	s.Release()
	if !debugBuild {
		require.Positive(t, p.Stats().ScopeFree, "the released scope keeps free slots")
	}
	assert.NoError(t, tracker.Find(ignore, tracker.MaxRetries(0)), "a released scope leaves nothing live")
}

func TestFindIgnorePool(t *testing.T) {
	p := slab.New[Order](slab.WithName(t.Name()))
	x := allocOrder(p)
	assert.NoError(t, tracker.Find(tracker.IgnorePool(t.Name()), tracker.MaxRetries(0)), "an ignored pool's objects are not leaks")
	assert.Error(t, tracker.Find(tracker.MaxRetries(0)), "the same objects are leaks otherwise")
	freeOrder(p, x)
}

func TestFindWaitsForAsynchronousFrees(t *testing.T) {
	p := slab.New[Order](slab.WithName(t.Name()))
	x := allocOrder(p)
	go func() {
		time.Sleep(20 * time.Millisecond) // teardown still running when Find starts
		freeOrder(p, x)
	}()
	assert.NoError(t, tracker.Find(), "Find retries until the object is freed")
}

type recordingT struct{ errs []string }

func (r *recordingT) Error(args ...any) { r.errs = append(r.errs, fmt.Sprint(args...)) }

func TestVerifyNone(t *testing.T) {
	p := slab.New[Order](slab.WithName(t.Name()))
	x := allocOrder(p)
	var rt recordingT
	tracker.VerifyNone(&rt, tracker.MaxRetries(0))
	require.Len(t, rt.errs, 1, "VerifyNone fails the test when objects leak")
	assert.Contains(t, rt.errs[0], "SUMMARY: slabtrack:", "the failure holds the report")

	freeOrder(p, x)
	rt = recordingT{}
	tracker.VerifyNone(&rt, tracker.MaxRetries(0))
	assert.Empty(t, rt.errs, "VerifyNone passes when nothing leaks")
}

type fakeM struct{ code int }

func (m fakeM) Run() int { return m.code }

func TestVerifyTestMain(t *testing.T) {
	p := slab.New[Order](slab.WithName(t.Name()))
	ignore := tracker.IgnoreCurrent()
	tests := []struct {
		name     string
		testCode int
		leak     bool
		want     int
	}{
		{"tests pass, nothing leaked", 0, false, 0},
		{"tests pass, objects leaked", 0, true, 1},
		{"tests fail", 2, true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var x *Order
			if tt.leak {
				x = allocOrder(p)
			}
			code := -1
			restore := tracker.SetOsExit(func(c int) { code = c })
			tracker.VerifyTestMain(fakeM{tt.testCode}, ignore, tracker.MaxRetries(0))
			restore()
			assert.Equal(t, tt.want, code, "the exit status")
			if x != nil {
				freeOrder(p, x)
			}
		})
	}
}

func TestCheckFindsNothingInCleanPools(t *testing.T) {
	p := slab.New[Order](slab.WithName(t.Name()))
	for range 10 {
		freeOrder(p, allocOrder(p))
	}
	assert.NoError(t, tracker.Check(), "an untouched quarantine verifies")
}

func TestErrorsMatch(t *testing.T) {
	v := &tracker.Violation{Kind: tracker.Leak}
	assert.True(t, errors.Is(v, tracker.ErrLeak), "a leak report is ErrLeak")
	assert.False(t, errors.Is(v, slab.ErrDoubleFree), "a leak report is not a double free")
}

// namedT is a recordingT with a test name, as ThisTest reads it.
type namedT struct {
	recordingT
	name string
}

func (n *namedT) Name() string { return n.name }

//go:noinline
func allocInWorker(p *slab.Pool[Order]) *Order {
	done := make(chan *Order)
	go func() { done <- allocOrder(p) }() // a goroutine the test starts
	return <-done
}

// Item 6: two tests share a pool and run at the same time. With ThisTest,
// debug builds count each test's own objects, also those its goroutines
// allocate: the clean test passes while the other holds objects, and the
// leaky test is told about its own leak only. Default builds cannot tell
// the tests apart, and say so.
func TestThisTestUnderParallel(t *testing.T) {
	p := slab.New[Order](slab.WithName(t.Name()))
	cleanStarted := make(chan struct{})
	inFlight := make(chan struct{})
	cleanDone := make(chan struct{})
	var leaked []*Order
	t.Run("group", func(t *testing.T) {
		t.Run("leaky", func(t *testing.T) {
			t.Parallel()
			leaky := &namedT{name: t.Name()}
			opt := tracker.ThisTest(leaky)
			<-cleanStarted
			held := []*Order{allocOrder(p), allocOrder(p), allocInWorker(p)}
			close(inFlight) // the other test checks now
			<-cleanDone
			freeOrder(p, held[0])
			freeOrder(p, held[1])
			tracker.VerifyNone(leaky, opt, tracker.MaxRetries(0))
			leaked = held[2:]
			require.Len(t, leaky.errs, 1, "the leaky test fails")
			report := leaky.errs[0]
			assert.Contains(t, report, "1 object(s), "+fmt.Sprint(orderSize)+" bytes not freed", "its own leak, not more")
			if debugBuild {
				assert.Contains(t, report, "allocInWorker", "the object its goroutine allocated is its own")
			}
		})
		t.Run("clean", func(t *testing.T) {
			t.Parallel()
			clean := &namedT{name: t.Name()}
			opt := tracker.ThisTest(clean)
			close(cleanStarted)
			<-inFlight
			freeOrder(p, allocOrder(p))
			tracker.VerifyNone(clean, opt, tracker.MaxRetries(0))
			close(cleanDone)
			if debugBuild {
				assert.Empty(t, clean.errs, "debug builds do not count the other test's objects in flight")
				return
			}
			require.Len(t, clean.errs, 1, "default builds count every new object, whichever test allocated it")
			assert.Contains(t, clean.errs[0], "default builds do not record which test allocated an object", "and the report says so")
		})
	})
	for _, x := range leaked {
		freeOrder(p, x)
	}
}

// ThisTest of a test counts its subtests' objects: a subtest's goroutine
// starts from the test's, and a subtest's own ThisTest mark is started
// under the test's.
func TestThisTestCountsSubtests(t *testing.T) {
	if !debugBuild {
		t.Skip("default builds record nothing per allocation; TestThisTestUnderParallel checks what they report")
	}
	p := slab.New[Order](slab.WithName(t.Name()))
	parent := &namedT{name: t.Name()}
	opt := tracker.ThisTest(parent)
	var x, y *Order
	t.Run("inherits", func(t *testing.T) { x = allocOrder(p) })
	t.Run("marks itself", func(t *testing.T) {
		sub := &namedT{name: t.Name()}
		subOpt := tracker.ThisTest(sub)
		y = allocOtherOrder(p)
		tracker.VerifyNone(sub, subOpt, tracker.MaxRetries(0))
		require.Len(t, sub.errs, 1, "the subtest sees its own object")
		assert.Contains(t, sub.errs[0], "1 object(s)", "and not its sibling's")
	})
	tracker.VerifyNone(parent, opt, tracker.MaxRetries(0))
	require.Len(t, parent.errs, 1, "the test fails")
	assert.Contains(t, parent.errs[0], "2 object(s)", "with both subtests' objects")
	freeOrder(p, x)
	freeOrder(p, y)
}

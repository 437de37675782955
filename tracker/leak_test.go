package tracker_test

import (
	"errors"
	"fmt"
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
// builds, counted per pool in release builds.
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

	if tracker.Enabled() {
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
		require.Len(t, sites, 1, "release builds count per pool")
		assert.Equal(t, 5, sites[0].Objects, "the pool's live objects")
		assert.Equal(t, 5*orderSize, sites[0].Bytes, "their bytes")
		assert.Empty(t, sites[0].Stack, "release builds record no stacks")
		assert.Contains(t, report, "rebuild with -tags slabdebug", "the report says how to get the sites")
	}

	for _, x := range objs {
		freeOrder(p, x)
	}
	assert.NoError(t, tracker.Find(tracker.MaxRetries(0)), "nothing is leaked once all are freed")
}

func TestFindIgnoreCurrent(t *testing.T) {
	p := slab.New[Order](slab.WithName(t.Name()))
	old := []*Order{allocOrder(p), allocOrder(p)}
	ignore := tracker.IgnoreCurrent()
	assert.NoError(t, tracker.Find(ignore, tracker.MaxRetries(0)), "objects live at IgnoreCurrent are not leaks")

	x := allocOtherOrder(p)
	sites := sitesOf(t, tracker.Find(ignore, tracker.MaxRetries(0)), t.Name())
	require.Len(t, sites, 1, "an object allocated later is a leak")
	assert.Equal(t, 1, sites[0].Objects, "one object")
	if tracker.Enabled() {
		assert.True(t, sites[0].Stack.Has("allocOtherOrder"), "the site names allocOtherOrder")
	}

	freeOrder(p, old[0]) // one old object out, one new in
	err := tracker.Find(ignore, tracker.MaxRetries(0))
	if tracker.Enabled() {
		sites = sitesOf(t, err, t.Name())
		require.Len(t, sites, 1, "debug builds remember objects, not counts")
		assert.True(t, sites[0].Stack.Has("allocOtherOrder"), "the new object is reported")
	} else {
		assert.NoError(t, err, "release builds compare counts, which did not grow")
	}
	freeOrder(p, x)
	assert.NoError(t, tracker.Find(ignore, tracker.MaxRetries(0)), "nothing new is live")
	freeOrder(p, old[1])
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

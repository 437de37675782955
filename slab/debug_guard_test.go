//go:build slabdebug

package slab_test

import (
	"cmp"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/faulttest"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// Guard pages (debug builds, WithGuardPages): objects of pointer-free types
// on pages of their own, protected while their slot is in the quarantine,
// so that any access of a freed object, a scalar read too, faults.

type point struct {
	X, Y, Z float64
	N       int64
}

//go:noinline
func allocPoint(p *slab.Pool[point]) *point {
	x := p.Alloc()
	x.X, x.Y, x.Z, x.N = 1, 2, 3, 4
	return x
}

//go:noinline
func freePoint(p *slab.Pool[point], x *point) { p.Free(x) }

func requireGuardPages(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("guard pages are Linux only")
	}
}

//slabvet:ignore useafterfree the test uses a freed object for the debug build to report
func TestDebugGuardPagesFaultAtTheAccess(t *testing.T) {
	requireGuardPages(t)
	tests := []struct {
		name   string
		access func(x *point)
		field  string
	}{
		{"scalar read", func(x *point) {
			faultSink = x.Z // access:guard read
		}, "Z"},
		{"scalar write", func(x *point) {
			x.N = 5 // access:guard write
		}, "N"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := slab.New[point](slab.WithName(t.Name()), slab.WithGuardPages(true))
			require.True(t, slab.Guarded(p), "the pool is on guard pages")
			r := onFaultingGoroutine(func() {
				x := allocPoint(p)
				freePoint(p, x)
				tt.access(x)
			})
			v, ok := r.(*tracker.Violation)
			require.True(t, ok, "the access panics with a *tracker.Violation, got %T: %v", r, r)
			assert.Equal(t, tracker.UseAfterFree, v.Kind, "the kind")
			assert.True(t, v.Guarded, "a guard-page fault")
			field := tt.field
			if raceBuild || asanBuild {
				field = "X" // the nil check that -race and -asan builds emit reads offset 0 first
			}
			assert.Equal(t, field, v.Field, "the field accessed")
			title := strings.SplitN(v.Error(), "\n", 2)[0]
			assert.True(t, strings.HasPrefix(title, "slab: use after free of *slab_test.point field "+field+" (pool \""+t.Name()+"\", slot "), "the title: %s", title)
			require.NotEmpty(t, v.Call, "the access stack")
			if !raceBuild {
				assert.Equal(t, faulttest.Line(t, map[string]string{"scalar read": "guard read", "scalar write": "guard write"}[tt.name]), v.Call[0].Line,
					"the access stack starts at the access:\n%v", v.Call)
			}
			assert.True(t, v.Free.Has("freePoint"), "the free stack:\n%v", v.Free)
			assert.True(t, v.Alloc.Has("allocPoint"), "the allocation stack:\n%v", v.Alloc)
			assert.Contains(t, v.Error(), "\naccessed here (this access):\n", "the report labels the access")
		})
	}
}

func TestDebugGuardPagesLayout(t *testing.T) {
	requireGuardPages(t)
	p := slab.New[point](slab.WithName(t.Name()), slab.WithGuardPages(true))
	a, b := p.Alloc(), p.Alloc()
	page := uintptr(os.Getpagesize())
	d := uintptr(unsafe.Pointer(b)) - uintptr(unsafe.Pointer(a))
	assert.Zero(t, d%page, "objects start on pages of their own (%d bytes apart)", d)
	assert.Zero(t, uintptr(unsafe.Pointer(a))%page, "at the start of a page")
	assert.Equal(t, int64(page)*p.Stats().Capacity, p.Stats().Bytes, "Bytes counts a page per slot")

	// Free finds the slot of each object with the guard slab's stride.
	p.Free(b)
	p.Free(a)
	err := requirePanicIs(t, slab.ErrForeign, func() { p.Free((*point)(unsafe.Add(unsafe.Pointer(a), 8))) })
	assert.Contains(t, err.Error(), "bytes apart", "an interior pointer is foreign, measured in slots a page apart")
	v := violationOf(func() { p.Free(a) })
	require.NotNil(t, v, "a double free of an object on a guard page is reported")
	assert.Equal(t, tracker.DoubleFree, v.Kind, "as a double free")
	assert.Zero(t, p.Stats().Live, "nothing is live")
}

func TestDebugGuardPagesReuseGivesZero(t *testing.T) {
	requireGuardPages(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	p := slab.New[point](slab.WithName(t.Name()), slab.WithGuardPages(true), slab.WithQuarantine(1))
	x := allocPoint(p)
	addr := uintptr(unsafe.Pointer(x))
	freePoint(p, x)
	freePoint(p, allocPoint(p)) // pushes x's slot out: unprotected
	got, held := allocUntilReused(p, addr)
	require.NotNil(t, got, "the slot is reused")
	assert.Zero(t, *got, "zero: its pages were discarded while protected")
	for _, y := range held {
		p.Free(y)
	}
	p.Trim()
	assert.Zero(t, p.Stats().Slabs, "Trim releases (retires) the guard slabs")
}

// When the kernel's map count is spent, a freed slot is poisoned instead
// of protected, Stats says so, and a write to it is still found later.
func TestDebugGuardPagesFallBackToPoison(t *testing.T) {
	skipUnderASan(t)
	requireGuardPages(t)
	p := slab.New[point](slab.WithName(t.Name()), slab.WithGuardPages(true))
	xs := []*point{allocPoint(p), allocPoint(p)}
	restore := slab.LimitGuardBudget(0)
	defer restore()
	log := recordViolations(t)
	freePoint(p, xs[0])
	assert.EqualValues(t, 1, p.Stats().GuardFallbacks, "the free that found no budget is counted")
	assert.Equal(t, int64(0x6b6b6b6b6b6b6b6b), xs[0].N, "the object is poisoned instead (and readable)")
	xs[0].N = 9
	require.Error(t, tracker.Check(), "a write to it is found by the poison check")
	require.Len(t, log.of(t.Name()), 1, "and reported once")
	assert.Equal(t, "N", log.of(t.Name())[0].Field, "naming the field")
	freePoint(p, xs[1])
	assert.EqualValues(t, 2, p.Stats().GuardFallbacks, "each such free is counted")
}

// Objects freed in address order make one protected run per slab: a
// budget of a few mappings protects hundreds of them, and none falls back
// to poison. (The budget used to be charged two mappings per freed object,
// however few the kernel made.)
func TestDebugGuardPagesInOrderFreesFit(t *testing.T) {
	requireGuardPages(t)
	const n = 300
	p := slab.New[point](slab.WithName(t.Name()), slab.WithGuardPages(true), slab.WithQuarantine(n))
	xs := make([]*point, n)
	for i := range xs {
		xs[i] = allocPoint(p)
	}
	slices.SortFunc(xs, func(a, b *point) int { return cmp.Compare(uintptr(unsafe.Pointer(a)), uintptr(unsafe.Pointer(b))) })
	restore := slab.LimitGuardBudget(2 * int(p.Stats().Slabs))
	defer restore()
	for _, x := range xs {
		freePoint(p, x)
	}
	assert.Zero(t, p.Stats().GuardFallbacks, "every freed object is protected, none poisoned")
	assert.Zero(t, p.Stats().Live, "all are freed")
	r := onFaultingGoroutine(func() {
		faultSink = xs[n/2].Z // a read after free: it faults on the guard page
	})
	v, ok := r.(*tracker.Violation)
	require.True(t, ok, "a read of a freed object faults, got %T: %v", r, r)
	assert.True(t, v.Guarded, "on its guard page")
	p.Trim()
}

func TestDebugGuardPagesSetting(t *testing.T) {
	requireGuardPages(t)
	prev := tracker.CurrentSettings()
	s := prev
	s.GuardPages = true
	require.NoError(t, tracker.Configure(s))
	defer func() { require.NoError(t, tracker.Configure(prev)) }()
	flat := slab.New[point](slab.WithName(t.Name() + "-flat"))
	ptrs := slab.New[invoice](slab.WithName(t.Name() + "-ptrs"))
	opt := slab.New[point](slab.WithName(t.Name()+"-off"), slab.WithGuardPages(false))
	assert.True(t, slab.Guarded(flat), "the setting puts a pool of a pointer-free type on guard pages")
	assert.False(t, slab.Guarded(ptrs), "it skips a type with pointers")
	assert.False(t, slab.Guarded(opt), "WithGuardPages(false) overrides it")
}

package guard_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/fault"
	"github.com/slabtrack/slabtrack/internal/guard"
	"github.com/slabtrack/slabtrack/internal/poison"
	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/internal/slabmap"
)

// point is a pointer-free type of 56 bytes.
type point struct {
	X, Y, Z float64
	ID      int64
	Tags    [3]int64
}

var pointLayout = poison.For(reflect.TypeFor[point]())

func requireGuard(t testing.TB) {
	t.Helper()
	if !guard.Supported() {
		t.Skipf("no guard pages on %s", runtime.GOOS)
	}
}

func newSlab(t testing.TB, n int) *guard.Slab {
	t.Helper()
	require.True(t, poison.PointerFree(reflect.TypeFor[point]()), "guarded types hold no pointers")
	s, err := guard.NewSlab(unsafe.Sizeof(point{}), n, guard.Owner{Pool: 5, FirstSlot: 100, Fields: pointLayout.Fields()})
	require.NoError(t, err, "NewSlab")
	return s
}

func TestSlabLayout(t *testing.T) {
	requireGuard(t)
	s := newSlab(t, 3)
	assert.Zero(t, s.Base()%slabmap.PageSize, "a slab starts on an 8 KiB page")
	assert.Zero(t, s.Limit()%slabmap.PageSize, "and ends on one")
	assert.Equal(t, guard.PageSize, s.Stride(), "a 56-byte object takes one OS page")
	assert.Equal(t, int((s.Limit()-s.Base())/s.Stride()), s.Len(), "every whole slot of the 8 KiB pages is used")
	assert.GreaterOrEqual(t, s.Len(), 3, "at least the slots asked for")
	for i := range s.Len() {
		p := (*point)(s.Slot(i))
		assert.Equal(t, point{}, *p, "slot %d starts zero", i)
		assert.Equal(t, s.Base()+uintptr(i)*s.Stride(), uintptr(unsafe.Pointer(p)), "slot %d is at Base + i*Stride", i)
		p.ID = int64(i)
	}
	for i := range s.Len() {
		assert.Equal(t, int64(i), (*point)(s.Slot(i)).ID, "slots do not overlap")
	}
	slab := &slabmap.Slab{Base: s.Base(), Limit: s.Limit(), Pool: slabmap.NewPoolID()}
	require.NoError(t, slabmap.Register(slab), "a slab can be registered in the address map like a heap slab")
	assert.Equal(t, slab, slabmap.Lookup(s.Base()+s.Stride()+8), "and found there")
	slabmap.Unregister(slab)

	_, err := guard.NewSlab(0, 1, guard.Owner{})
	assert.Error(t, err, "a zero size is refused")
	_, err = guard.NewSlab(8, 0, guard.Owner{})
	assert.Error(t, err, "a zero slot count is refused")
}

// touch reads or writes *p with faults turned into panics, and returns the
// fault address, if any.
//
//go:noinline
func touch(p *point, write bool) (addr uintptr, faulted bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() { addr, faulted = fault.Addr(recover()) }()
	if write {
		p.Y = 1
	} else {
		sink = p.Z
	}
	return 0, false
}

var sink any

func TestProtectedSlotFaults(t *testing.T) {
	requireGuard(t)
	s := newSlab(t, 4)
	p := (*point)(s.Slot(2))
	p.X = 7
	require.NoError(t, s.Protect(2, false), "Protect")
	assert.True(t, s.Protected(2), "the slot is protected")
	for _, tt := range []struct {
		name  string
		write bool
		off   uintptr
		field string
	}{
		{"read", false, unsafe.Offsetof(point{}.Z), "Z"},
		{"write", true, unsafe.Offsetof(point{}.Y), "Y"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr, faulted := touch(p, tt.write)
			require.True(t, faulted, "the %s faults", tt.name)
			if race.Enabled {
				// Race builds check the pointer for nil, at offset
				// 0, before they report the access to the detector.
				tt.off, tt.field = 0, "X"
			}
			assert.Equal(t, uintptr(unsafe.Pointer(p))+tt.off, addr, "at the address accessed")
			got, i, off, ok := guard.Lookup(addr)
			require.True(t, ok, "Lookup finds the address")
			assert.Same(t, s, got, "the slab")
			assert.Equal(t, 2, i, "the slot")
			assert.Equal(t, tt.off, off, "the offset")
			assert.Equal(t, 102, got.Owner().FirstSlot+i, "the pool-wide slot")
			name, _, _ := got.Owner().Fields.Fields().Field(off)
			assert.Equal(t, tt.field, name, "the field")
		})
	}
	_, faulted := touch((*point)(s.Slot(1)), true)
	assert.False(t, faulted, "a neighbouring slot stays accessible")
	require.NoError(t, s.Unprotect(2), "Unprotect")
	_, faulted = touch(p, true)
	assert.False(t, faulted, "an unprotected slot is accessible again")
	assert.Equal(t, 7.0, p.X, "and kept its contents without discard")

	require.NoError(t, s.Protect(2, true), "Protect with discard")
	require.NoError(t, s.Unprotect(2), "Unprotect")
	assert.Equal(t, point{}, *p, "a discarded slot reads as zero")

	require.NoError(t, s.Protect(3, false), "Protect")
	assert.Error(t, s.Protect(3, false), "a protected slot cannot be protected twice")
	require.NoError(t, s.Unprotect(3), "Unprotect")
	assert.Error(t, s.Unprotect(3), "an accessible slot cannot be unprotected")
	_, _, ok := s.Index(s.Limit())
	assert.False(t, ok, "the address past the slab is in none of its slots")
	if other, _, _, ok := guard.Lookup(s.Limit()); ok {
		assert.NotSame(t, s, other, "Lookup finds the address past the slab only in another slab")
	}
}

// Protecting a slot splits the slab's mapping: by at most two mappings per
// protected slot, and by two for a run of adjacent ones; unprotecting merges
// them back. The budget refuses what would exceed the kernel's limit. The
// mappings are counted within the slab, as the runtime may map memory for
// itself while the test runs.
func TestMapCount(t *testing.T) {
	requireGuard(t)
	s := newSlab(t, 16)
	mappings := func() int { return guard.MappingsIn(s.Base(), s.Limit()) }
	before := mappings()
	require.Equal(t, 1, before, "an untouched slab is one mapping")
	for i := 1; i < 8; i += 2 {
		require.NoError(t, s.Protect(i, true), "Protect(%d)", i)
	}
	assert.LessOrEqual(t, mappings()-before, 2*4, "four separate protected slots add at most eight mappings")
	assert.GreaterOrEqual(t, mappings()-before, 4, "and they do split the slab")
	for i := 1; i < 8; i += 2 {
		require.NoError(t, s.Unprotect(i), "Unprotect(%d)", i)
	}
	assert.Equal(t, before, mappings(), "unprotecting merges them back")
	for i := 8; i < 12; i++ {
		require.NoError(t, s.Protect(i, true), "Protect(%d)", i)
	}
	assert.LessOrEqual(t, mappings()-before, 2, "a run of adjacent protected slots is one mapping")
	b := guard.Budget()
	assert.Equal(t, 4, b.Protected, "the budget counts the protected slots")

	defer guard.SetLimit(b.Used + 2)()
	defer guard.SetLog(io.Discard)()
	require.NoError(t, s.Protect(0, true), "the budget has room for slot 0, which splits the slab once")
	require.NoError(t, s.Protect(12, true), "slot 12 extends the protected run 8-11: it costs nothing")
	assert.ErrorIs(t, s.Protect(14, true), guard.ErrBudget, "slot 14, between accessible slots, would cost two: the budget is spent")
	assert.False(t, s.Protected(14), "a refused slot stays accessible")
	require.NoError(t, s.Unprotect(0), "Unprotect")
	for i := 8; i < 13; i++ {
		require.NoError(t, s.Unprotect(i), "Unprotect(%d)", i)
	}
	t.Logf("vm.max_map_count=%d, budget %d mappings (%d isolated slots protected at once at most)", b.MaxMapCount, b.Limit, b.Limit/2)
}

// The budget is a fixed share of the kernel's map count, as KFENCE's pool
// is: spent whole, by slots protected one apart (two mappings each), it
// leaves the process most of its mappings, so that the Go heap can still
// grow; the first refusal is written to standard error, once.
func TestBudgetLeavesTheProcessItsMappings(t *testing.T) {
	requireGuard(t)
	b := guard.Budget()
	require.LessOrEqual(t, b.Limit, 16384, "the budget is at most 16384 mappings")
	require.LessOrEqual(t, b.Limit, b.MaxMapCount/4, "and at most a quarter of vm.max_map_count")

	var log bytes.Buffer
	defer guard.SetLog(&log)()
	guard.ResetRefused()
	var slabs []*guard.Slab
	defer func() {
		for _, s := range slabs {
			for i := range s.Len() {
				if s.Protected(i) {
					assert.NoError(t, s.Unprotect(i), "Unprotect(%d)", i)
				}
			}
			assert.NoError(t, s.Retire(), "Retire")
		}
	}()
	spent := false
	for !spent {
		s, err := guard.NewSlab(unsafe.Sizeof(point{}), 64, guard.Owner{Pool: 5, Fields: pointLayout.Fields()})
		if errors.Is(err, guard.ErrBudget) {
			break
		}
		require.NoError(t, err, "NewSlab")
		slabs = append(slabs, s)
		for i := 0; i < s.Len(); i += 2 {
			if err := s.Protect(i, true); err != nil {
				require.ErrorIs(t, err, guard.ErrBudget, "Protect(%d) is refused only for want of budget", i)
				spent = true
				break
			}
		}
	}
	after := guard.Budget()
	t.Logf("vm.max_map_count=%d, budget %d, %d slabs, %d slots protected, %d mappings charged, %d in the process",
		after.MaxMapCount, after.Limit, len(slabs), after.Protected, after.Used, guard.MapCount())
	assert.GreaterOrEqual(t, after.Used, after.Limit-1, "the budget is spent")
	assert.GreaterOrEqual(t, after.MaxMapCount-guard.MapCount(), after.MaxMapCount/2, "the process keeps at least half of its mappings")
	heap := make([]byte, 64<<20)
	heap[len(heap)-1] = 1 // the heap still grows
	assert.Equal(t, 1, strings.Count(log.String(), "\n"), "one line says that the budget is spent: %q", log.String())
	assert.Contains(t, log.String(), "slabtrack: guard pages: the budget of", "naming the guard pages")
	assert.Contains(t, log.String(), "Stats.GuardFallbacks", "and where the unprotected frees are counted")
}

// The budget is charged with the mappings a change really adds: after any
// sequence of protections, the mappings of a slab are exactly one plus
// what the budget holds for it. Slots protected in address order cost
// nothing after the first, so a budget far smaller than the slots
// protects them all.
func TestBudgetCountsRuns(t *testing.T) {
	requireGuard(t)
	// 37 slots: a length no other test retires, so the slab is a new
	// mapping. (A retired one that was split may stay split: the kernel
	// does not merge ranges whose pages were touched apart.)
	s := newSlab(t, 37)
	mappings := func() int { return guard.MappingsIn(s.Base(), s.Limit()) }
	base := guard.Budget().Used
	charged := func() int { return guard.Budget().Used - base }
	require.Equal(t, 1, mappings(), "an untouched slab is one mapping")

	defer guard.SetLimit(base + 2)()
	for i := range s.Len() {
		require.NoError(t, s.Protect(i, true), "Protect(%d) in address order fits a budget of two mappings", i)
		require.Equal(t, mappings()-1, charged(), "after Protect(%d) the budget holds what the slab adds", i)
	}
	for i := range s.Len() {
		require.NoError(t, s.Unprotect(i), "Unprotect(%d)", i)
		require.Equal(t, mappings()-1, charged(), "after Unprotect(%d) the budget holds what the slab adds", i)
	}

	// Any order: the budget holds the runs of slots of equal protection
	// less one, what the kernel needs at least. The kernel may keep more:
	// it does not merge back ranges whose pages were touched while apart,
	// so the count is a floor, and the budget's quarter share of the
	// process's mappings leaves room for the difference.
	restore := guard.SetLimit(base + 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	stride := uintptr(s.Slot(1)) - uintptr(s.Slot(0))
	extra := 0
	for step := range 400 {
		i := rng.IntN(s.Len())
		if s.Protected(i) {
			require.NoError(t, s.Unprotect(i), "Unprotect(%d)", i)
		} else {
			require.NoError(t, s.Protect(i, step%2 == 0), "Protect(%d)", i)
		}
		runs := 1
		for j := 1; j < s.Len(); j++ {
			if s.Protected(j) != s.Protected(j-1) {
				runs++
			}
		}
		if s.Protected(s.Len()-1) && uintptr(s.Slot(s.Len()-1))+stride < s.Limit() {
			runs++ // the tail after the last slot stays accessible
		}
		require.Equal(t, runs-1, charged(), "step %d: the budget holds the runs of the slab less one", step)
		require.GreaterOrEqual(t, mappings(), runs, "step %d: the kernel keeps a mapping per run at least", step)
		extra = max(extra, mappings()-runs)
	}
	t.Logf("the kernel kept up to %d mapping(s) more than the runs of the slab", extra)
	restore()
	for i := range s.Len() {
		if s.Protected(i) {
			require.NoError(t, s.Unprotect(i), "Unprotect(%d)", i)
		}
	}
	assert.Zero(t, charged(), "an accessible slab holds nothing but its own mapping")
}

func TestRetireAndReuse(t *testing.T) {
	requireGuard(t)
	s := newSlab(t, 8)
	(*point)(s.Slot(5)).ID = 9
	require.NoError(t, s.Protect(1, true), "Protect")
	require.NoError(t, s.Retire(), "Retire")
	assert.Error(t, s.Retire(), "a slab is retired once")
	assert.Error(t, s.Protect(2, false), "a retired slab's slots cannot be protected")
	addr, faulted := touch((*point)(s.Slot(5)), false)
	require.True(t, faulted, "every slot of a retired slab faults")
	got, i, _, ok := guard.Lookup(addr)
	require.True(t, ok && got == s && i == 5, "and Lookup still finds it")
	assert.True(t, got.Retired(), "as retired")

	again, err := guard.NewSlab(unsafe.Sizeof(point{}), 8, guard.Owner{Pool: 6})
	require.NoError(t, err, "NewSlab")
	assert.Equal(t, s.Base(), again.Base(), "a slab of the same length reuses the retired mapping")
	assert.Equal(t, point{}, *(*point)(again.Slot(5)), "zeroed")
	got, _, _, _ = guard.Lookup(again.Base())
	assert.Same(t, again, got, "Lookup finds the new slab there")
}

// A Ring keeps freed slots protected as long as it can, as GWP-ASan does:
// one object in N of a pool goes to it.
func TestRingSamples(t *testing.T) {
	requireGuard(t)
	r := guard.NewRing(newSlab(t, 4))
	n := r.Slab().Len()
	const every = 4 // one allocation in every
	var sampled []int
	for k := range 10 * every {
		if k%every != 0 {
			continue // an ordinary allocation
		}
		i, ok := r.Alloc()
		require.True(t, ok, "the ring has a free slot")
		assert.Equal(t, point{}, *(*point)(r.Slab().Slot(i)), "a sampled object starts zero")
		(*point)(r.Slab().Slot(i)).ID = int64(k)
		sampled = append(sampled, i)
		require.NoError(t, r.Free(i), "Free")
		assert.True(t, r.Slab().Protected(i), "a freed sampled slot is protected")
	}
	for k := 1; k < n && k < len(sampled); k++ {
		assert.NotEqual(t, sampled[k-1], sampled[k], "the slot just freed is not the next one handed out")
	}
	i, _ := r.Alloc()
	assert.Error(t, r.Free(i+n), "a slot out of range is refused")
	require.NoError(t, r.Free(i), "Free")
	assert.Error(t, r.Free(i), "a free slot cannot be freed again")
	for range n {
		_, ok := r.Alloc()
		require.True(t, ok, "every slot can be allocated")
	}
	_, ok := r.Alloc()
	assert.False(t, ok, "a full ring says so, and the caller allocates elsewhere")
}

const crashEnv = "GUARD_TEST_CRASH"

var crashAddr = regexp.MustCompile(`unexpected fault address (0x[0-9a-f]+)`)

// Without PanicOnFault, an access to a protected slot stops the program at
// the access, and the crash prints the address.
func TestProtectedSlotCrashes(t *testing.T) {
	requireGuard(t)
	if os.Getenv(crashEnv) != "" {
		s := newSlab(t, 2)
		p := (*point)(s.Slot(1))
		require.NoError(t, s.Protect(1, true))
		fmt.Fprintf(os.Stderr, "slot %#x\n", uintptr(unsafe.Pointer(p)))
		p.Z = 3 // access:crash
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestProtectedSlotCrashes$")
	cmd.Env = append(os.Environ(), crashEnv+"=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "the child dies:\n%s", out)
	assert.Equal(t, 2, ee.ExitCode(), "of the fault")
	var slot uintptr
	_, err = fmt.Sscanf(string(out), "slot %v", &slot)
	require.NoError(t, err, "the child prints its slot:\n%s", out)
	m := crashAddr.FindStringSubmatch(string(out))
	require.NotNil(t, m, "the crash prints the fault address:\n%s", out)
	addr, err := strconv.ParseUint(m[1], 0, 64)
	require.NoError(t, err)
	want := []uintptr{slot + unsafe.Offsetof(point{}.Z)}
	if race.Enabled {
		want = append(want, slot) // a nil check before the race detector's call
	}
	assert.Contains(t, want, uintptr(addr), "the address of the field written")
	_, file, _, _ := runtime.Caller(0)
	src, err := os.ReadFile(file)
	require.NoError(t, err)
	line := strings.Count(string(src[:strings.Index(string(src), "// access:crash")]), "\n") + 1
	assert.Contains(t, string(out), fmt.Sprintf("guard_test.go:%d", line), "the traceback shows the line of the write")
}

func BenchmarkFlip(b *testing.B) {
	if !guard.Supported() {
		b.Skip("no guard pages")
	}
	s, err := guard.NewSlab(56, 64, guard.Owner{})
	if err != nil {
		b.Fatal(err)
	}
	// The baseline: what a heap pool does to a freed 56-byte slot.
	b.Run("op=zero-56B", func(b *testing.B) {
		p := (*point)(s.Slot(0))
		for b.Loop() {
			*p = point{}
		}
	})
	for _, discard := range []bool{false, true} {
		b.Run(fmt.Sprintf("op=protect+unprotect-discard-%t", discard), func(b *testing.B) {
			for b.Loop() {
				if err := s.Protect(1, discard); err != nil {
					b.Fatal(err)
				}
				if err := s.Unprotect(1); err != nil {
					b.Fatal(err)
				}
				(*point)(s.Slot(1)).ID = 1 // touch it, as the next user would
			}
		})
	}
}

package fault_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/fault"
)

// twoWords is a Fields for an object with two reference words, whose
// windows are the two halves of a cell.
type twoWords struct{}

func (twoWords) TypeName() string { return "*fault_test.obj" }

func (twoWords) Access(off uintptr) fault.Access {
	if off < fault.CellSize()/2 {
		return fault.Access{Field: "A", Offset: 0, Kind: "pointer", Target: fmt.Sprintf("A+%d", off)}
	}
	return fault.Access{Field: "B", Offset: 8, Kind: "pointer", Target: fmt.Sprintf("B+%d", off-fault.CellSize()/2)}
}

func (twoWords) Field(off uintptr) (string, uintptr, uintptr) {
	if off < 8 {
		return "A", 0, 8
	}
	return "B", 8, 16
}

var twoWordsID = fault.RegisterFields(twoWords{})

func requireRegion(t *testing.T) {
	t.Helper()
	if !fault.Supported {
		t.Skipf("no fault region on %s/%s: the fallback is tested by TestUnreservedFallsBackToNil", runtime.GOOS, runtime.GOARCH)
	}
	require.True(t, fault.Available(), "the region is reserved: %v", fault.Err())
}

// mapping is one line of /proc/self/maps.
type mapping struct {
	lo, hi uintptr
	perms  string
}

func mappings(t *testing.T) []mapping {
	t.Helper()
	f, err := os.Open("/proc/self/maps")
	require.NoError(t, err, "open /proc/self/maps")
	defer f.Close()
	var out []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		lo, hi, ok := strings.Cut(fields[0], "-")
		require.True(t, ok, "a maps line starts with lo-hi: %q", sc.Text())
		l, err1 := strconv.ParseUint(lo, 16, 64)
		h, err2 := strconv.ParseUint(hi, 16, 64)
		require.NoError(t, err1)
		require.NoError(t, err2)
		out = append(out, mapping{uintptr(l), uintptr(h), fields[1]})
	}
	require.NoError(t, sc.Err())
	return out
}

// The region is one PROT_NONE mapping of its own: the kernel placed it
// apart from every other mapping, the Go heap's included, and heap objects
// lie outside it.
func TestRegionIsAMappingOfItsOwn(t *testing.T) {
	requireRegion(t)
	lo, hi := fault.Bounds()
	require.Equal(t, uintptr(fault.Cells())*fault.CellSize(), hi-lo, "the region holds Cells cells of CellSize bytes")
	var found []mapping
	for _, m := range mappings(t) {
		if m.lo < hi && lo < m.hi {
			found = append(found, m)
		}
	}
	require.Len(t, found, 1, "exactly one mapping overlaps the region [%#x, %#x): %v", lo, hi, found)
	assert.Equal(t, mapping{lo, hi, "---p"}, found[0], "the region is exactly one private PROT_NONE mapping")
	if runtime.GOOS == "linux" && (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") && fault.CellSize() == 256<<10 {
		assert.Equal(t, uint64(0x6b6b_0000_0000), uint64(lo), "the kernel honoured the hint, so fault addresses start with 0x6b6b")
	}
	for i := range 1000 {
		b := make([]byte, 16<<(i%12)) // small and large objects, many slabs
		a := uintptr(unsafe.Pointer(&b[0]))
		require.False(t, a >= lo && a < hi, "heap object %#x lies outside the region", a)
	}
}

// read dereferences p with faults turned into panics, and returns the
// recovered fault address.
//
//go:noinline
func read(p unsafe.Pointer) (addr uintptr, ok bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() { addr, ok = fault.Addr(recover()) }()
	_ = *(*byte)(p)
	return 0, false
}

func TestAcquireDecode(t *testing.T) {
	requireRegion(t)
	rec := fault.Record{Pool: 7, Slot: 12, Serial: 3, Fields: twoWordsID}
	c := fault.Acquire(rec)
	require.NotZero(t, c, "a cell is handed out")
	defer fault.Release(c)

	tests := []struct {
		name  string
		off   uintptr
		field string
	}{
		{"first word", 16, "A"},
		{"second word", fault.CellSize()/2 + 40, "B"},
		{"last byte", fault.CellSize() - 1, "B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, ok := read(c.Addr(tt.off))
			require.True(t, ok, "a read of the cell faults with an address")
			require.Equal(t, uintptr(c.Addr(tt.off)), addr, "the fault address is the address read")
			f, ok := fault.Decode(addr)
			require.True(t, ok, "the address decodes")
			assert.Equal(t, c, f.Cell, "the cell")
			assert.Equal(t, tt.off, f.Offset, "the offset in the cell")
			assert.Equal(t, rec, f.Record, "the record")
			assert.True(t, f.Known && f.Busy, "the record is known and the cell in use")
			a, ok := f.Access()
			require.True(t, ok, "the access is described")
			assert.Equal(t, tt.field, a.Field, "the field whose window holds the address")
		})
	}
}

func TestReleaseKeepsTheRecord(t *testing.T) {
	requireRegion(t)
	rec := fault.Record{Pool: 9, Slot: 1, Serial: 1, Fields: twoWordsID}
	c := fault.Acquire(rec)
	require.NotZero(t, c, "a cell is handed out")
	fault.Release(c)
	f, ok := fault.Decode(uintptr(c.Addr(8)))
	require.True(t, ok, "a released cell's address still decodes")
	assert.Equal(t, rec, f.Record, "to its last record")
	assert.False(t, f.Busy, "and says the cell is no longer in use")
}

func TestDecodeOutside(t *testing.T) {
	requireRegion(t)
	lo, hi := fault.Bounds()
	x := new(int)
	for _, addr := range []uintptr{0, lo - 1, hi, uintptr(unsafe.Pointer(x))} {
		_, ok := fault.Decode(addr)
		assert.False(t, ok, "%#x is outside the region", addr)
	}
	f, ok := fault.Decode(uintptr(fault.Cell(0).Addr(24)))
	require.True(t, ok, "the anonymous cell is in the region")
	assert.False(t, f.Known, "the anonymous cell has no record")
	_, ok = f.Access()
	assert.False(t, ok, "and no access description")
}

// A full ring hands out the anonymous cell, and a released cell is handed
// out again.
func TestFullRing(t *testing.T) {
	requireRegion(t)
	const n = 8
	defer fault.SetRing(n)()
	before := fault.Stats()
	var cells []fault.Cell
	for range n - 1 {
		c := fault.Acquire(fault.Record{Pool: 1, Fields: twoWordsID})
		require.NotZero(t, c, "the ring has %d cells besides the anonymous one", n-1)
		cells = append(cells, c)
	}
	assert.Zero(t, fault.Acquire(fault.Record{Pool: 1}), "a full ring returns the anonymous cell")
	assert.Equal(t, before.Overflows+1, fault.Stats().Overflows, "and counts an overflow")
	fault.Release(cells[3])
	again := fault.Acquire(fault.Record{Pool: 2, Slot: 5, Fields: twoWordsID})
	assert.Equal(t, cells[3], again, "the released cell is the only one free")
	f, _ := fault.Decode(uintptr(again.Addr(0)))
	assert.Equal(t, 5, f.Record.Slot, "a re-acquired cell decodes to its new record")
	for _, c := range append(cells, again) {
		fault.Release(c)
	}
}

// Concurrent Acquires never hand one cell to two owners.
func TestConcurrentAcquire(t *testing.T) {
	requireRegion(t)
	const goroutines, rounds = 4, 2000
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				rec := fault.Record{Pool: uint64(g + 100), Slot: i, Serial: uint32(i), Fields: twoWordsID}
				c := fault.Acquire(rec)
				f, _ := fault.Decode(uintptr(c.Addr(0)))
				fault.Release(c)
				if c == 0 || f.Record != rec || !f.Busy {
					errs <- fmt.Errorf("goroutine %d round %d: cell %d decodes to %+v (busy %t)", g, i, c, f.Record, f.Busy)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err, "each cell decodes to the record of the goroutine that holds it")
	}
}

const childEnv = "FAULT_TEST_CHILD"

// Where the region cannot be reserved, Acquire returns the anonymous cell
// and addresses are nil: poison falls back to nil words.
func TestUnreservedFallsBackToNil(t *testing.T) {
	if os.Getenv(childEnv) == "unreserved" {
		fault.Unreserved()
		fmt.Printf("available=%t err=%v acquire=%d addr=%v\n",
			fault.Available(), fault.Err() != nil, fault.Acquire(fault.Record{Pool: 1}), fault.Cell(3).Addr(8))
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestUnreservedFallsBackToNil$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=unreserved")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the child runs:\n%s", out)
	assert.Contains(t, string(out), "available=false err=true acquire=0 addr=<nil>",
		"without a region nothing is available and poison addresses are nil")
}

func TestDisable(t *testing.T) {
	if os.Getenv(childEnv) == "disable" {
		err := fault.Disable()
		fmt.Printf("disable=%v available=%t again=%v\n", err, fault.Available(), fault.Disable() != nil)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDisable$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=disable")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the child runs:\n%s", out)
	assert.Contains(t, string(out), "disable=<nil> available=false again=true",
		"Disable before first use keeps the region unreserved, and a second call is refused")
	fault.Available()
	assert.Error(t, fault.Disable(), "Disable after first use is refused")
}

// emptyCall is the baseline of BenchmarkPanicOnFault: a call that does
// nothing.
//
//go:noinline
func emptyCall() {}

func BenchmarkPanicOnFault(b *testing.B) {
	b.Run("call=empty", func(b *testing.B) {
		for b.Loop() {
			emptyCall()
		}
	})
	b.Run("call=PanicOnFault", func(b *testing.B) {
		for b.Loop() {
			fault.PanicOnFault()
		}
	})
}

// warmRing hands out every cell once, so that benchmarks measure the steady
// state, not the side table's allocation.
func warmRing() {
	for range fault.Cells() {
		fault.Release(fault.Acquire(fault.Record{}))
	}
}

func BenchmarkAcquireRelease(b *testing.B) {
	if !fault.Available() {
		b.Skip("no fault region")
	}
	rec := fault.Record{Pool: 1, Slot: 2, Serial: 3, Fields: twoWordsID}
	warmRing()
	b.Run("goroutines=1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			fault.Release(fault.Acquire(rec))
		}
	})
	b.Run("goroutines=GOMAXPROCS", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				fault.Release(fault.Acquire(rec))
			}
		})
	})
}

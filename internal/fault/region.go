package fault

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// A geometry is one way to split the region: 2^sizeShift bytes in cells of
// 2^cellShift bytes.
type geometry struct{ sizeShift, cellShift uint }

// geometries are tried in order until a reservation succeeds: large cells
// first, then smaller regions for address spaces (39-bit arm64 kernels, an
// RLIMIT_AS) that cannot hold 64 GiB. The cell count stays 2^18 but for the
// last, whose 16 KiB cells are the smallest worth having.
var geometries = []geometry{
	{36, 18}, // 64 GiB, 256 KiB cells
	{34, 16}, // 16 GiB, 64 KiB cells
	{32, 14}, // 4 GiB, 16 KiB cells
	{30, 14}, // 1 GiB, 16 KiB cells
}

// The region, set once by setup and read-only after: base and size are
// published before ready is set.
var (
	once      sync.Once
	ready     atomic.Bool
	reserveFn = reserve // replaced by tests to see the fallback
	base      unsafe.Pointer
	size      uintptr
	cellShift uint
	ncells    uint32
	setupErr  error
)

// setup reserves the region on first use and reports whether it exists.
func setup() bool {
	if ready.Load() {
		return true
	}
	once.Do(func() {
		for _, g := range geometries {
			p, err := reserveFn(1 << g.sizeShift)
			if err != nil {
				setupErr = err
				continue
			}
			base, size, cellShift = p, 1<<g.sizeShift, g.cellShift
			ncells = uint32(1 << (g.sizeShift - g.cellShift))
			chunks = make([]atomic.Pointer[chunk], (ncells+chunkCells-1)/chunkCells)
			ring.Store(ncells)
			locals = make([]local, runtime.GOMAXPROCS(0))
			setupErr = nil
			ready.Store(true)
			return
		}
	})
	return ready.Load()
}

// Disable keeps the region from being reserved, for programs that cannot
// spare the address space (a tight RLIMIT_AS) and for tests of the
// fallback: reference words are then poisoned with nil. It must be called
// before the region is first used, and returns an error after.
func Disable() error {
	done := false
	once.Do(func() {
		setupErr = errors.New("fault: the fault region was disabled: freed objects' reference words are poisoned with nil")
		done = true
	})
	if !done {
		return errors.New("fault: Disable called after the fault region was first used")
	}
	return nil
}

// Available reserves the region if it is not yet, and reports whether it
// exists. Without it, poisoned reference words hold nil (see the package
// comment).
func Available() bool { return setup() }

// Err returns why the region could not be reserved, or nil.
func Err() error {
	setup()
	return setupErr
}

// Bounds returns the region's first address and the address past its end,
// (0, 0) if it was not reserved. It does not reserve it.
func Bounds() (lo, hi uintptr) {
	if !ready.Load() {
		return 0, 0
	}
	return uintptr(base), uintptr(base) + size
}

// CellSize returns the size of a cell in bytes, 0 without a region. It
// reserves the region if it is not yet.
func CellSize() uintptr {
	if !setup() {
		return 0
	}
	return 1 << cellShift
}

// Cells returns the number of cells, the anonymous cell 0 included; 0
// without a region.
func Cells() int {
	if !setup() {
		return 0
	}
	return int(ncells)
}

// contains reports whether addr lies in the region, without reserving it.
func contains(addr uintptr) bool {
	lo, hi := Bounds()
	return addr >= lo && addr < hi
}

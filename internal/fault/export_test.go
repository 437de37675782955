package fault

import (
	"errors"
	"unsafe"
)

// SetRing makes Acquire cycle through the first n cells only, and returns a
// function that restores the whole ring.
func SetRing(n uint32) (restore func()) {
	setup()
	old := ring.Swap(n)
	return func() { ring.Store(old) }
}

// Unreserved makes the reservation fail, for a test process that has not
// reserved the region yet.
func Unreserved() {
	reserveFn = func(uintptr) (unsafe.Pointer, error) {
		return nil, errors.New("fault: reservation refused by the test")
	}
}

// Supported reports whether this platform has a region.
const Supported = supported

package guard

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
)

// SetLimit sets the budget's limit, in mappings, and returns a function
// that restores it.
func SetLimit(n int) (restore func()) { return LimitBudget(n) }

// ResetRefused forgets the refusals so far, so that the next one writes
// its line again.
func ResetRefused() { refused.Store(0) }

// MapCount returns the process's mappings now.
func MapCount() int { return mapCount() }

// MappingsIn returns the number of the process's mappings that overlap
// [lo, hi), from /proc/self/maps, or 0 where there is none. Unlike the
// process's whole count, it does not move when the runtime maps memory for
// itself meanwhile.
func MappingsIn(lo, hi uintptr) int {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// Each line starts "start-end perms ...", in hexadecimal.
		addrs, _, _ := bytes.Cut(sc.Bytes(), []byte{' '})
		start, end, ok := bytes.Cut(addrs, []byte{'-'})
		if !ok {
			continue
		}
		s, err1 := strconv.ParseUint(string(start), 16, 64)
		e, err2 := strconv.ParseUint(string(end), 16, 64)
		if err1 == nil && err2 == nil && uintptr(s) < hi && lo < uintptr(e) {
			n++
		}
	}
	return n
}

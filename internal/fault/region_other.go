//go:build !(linux && (amd64 || arm64))

package fault

import (
	"fmt"
	"runtime"
	"unsafe"
)

// reserve fails: the region is implemented for linux/amd64 and linux/arm64
// only. Poisoned reference words then hold nil (see the package comment).
func reserve(uintptr) (unsafe.Pointer, error) {
	return nil, fmt.Errorf("fault: no fault region on %s/%s: freed objects' reference words are poisoned with nil", runtime.GOOS, runtime.GOARCH)
}

const supported = false

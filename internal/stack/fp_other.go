//go:build !amd64

package stack

import "unsafe"

// haveFramePointers reports whether walk can unwind this architecture: here
// it cannot, and Capture uses runtime.Callers.
const haveFramePointers = false

func framePointer() unsafe.Pointer { return nil }

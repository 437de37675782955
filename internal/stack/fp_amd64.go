package stack

import "unsafe"

// haveFramePointers reports whether walk can unwind this architecture.
const haveFramePointers = true

// framePointer returns the frame pointer of its caller.
func framePointer() unsafe.Pointer

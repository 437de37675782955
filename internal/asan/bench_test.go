//go:build asan

package asan_test

import (
	"testing"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
	"github.com/slabtrack/slabtrack/internal/stack"
)

// The costs that an Alloc+Free pays under -asan: the shadow calls and the
// stack captures (go test -asan -bench . ./internal/asan).

var buf = make([]byte, 1<<16)

func BenchmarkPoison(b *testing.B) {
	p := unsafe.Pointer(&buf[64])
	for b.Loop() {
		asan.Poison(p, 64)
		asan.Unpoison(p, 64)
	}
}

func BenchmarkHandedFreed(b *testing.B) {
	p := unsafe.Pointer(&buf[64])
	o := asan.NewOwner("x", "*x", 64, false)
	asan.AddRegion(uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&buf[0]))+1<<16, 64, o, 0)
	for b.Loop() {
		asan.Handed(p, 64, 1, 1)
		asan.Freed(p, 64, 1, 1)
	}
}

func BenchmarkCapture(b *testing.B) {
	for b.Loop() {
		stack.Capture(0, 24)
	}
}

func BenchmarkCaptureCallers(b *testing.B) {
	stack.UseCallers.Store(true)
	defer stack.UseCallers.Store(false)
	for b.Loop() {
		stack.Capture(0, 24)
	}
}

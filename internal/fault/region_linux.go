//go:build linux && (amd64 || arm64)

package fault

import (
	"syscall"
	"unsafe"
)

// hint is where the region is asked for: its addresses then start with
// 0x6b6b, the byte debug builds poison scalars with, and are recognisable in
// a crash's "addr=". It lies below the 47-bit user address space of amd64
// and arm64, and apart from the Go heap's arena hints (0x00c0<<32 + k<<40).
const hint = 0x6b6b_0000_0000

// reserve maps size bytes PROT_NONE, at hint if the kernel allows, and
// returns the address. Without MAP_FIXED the kernel never places the
// mapping over another one, such as the Go heap's.
func reserve(size uintptr) (unsafe.Pointer, error) {
	addr, _, errno := syscall.Syscall6(syscall.SYS_MMAP, hint, size, syscall.PROT_NONE,
		syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_NORESERVE, ^uintptr(0), 0)
	if errno != 0 {
		return nil, errno
	}
	// The address is of memory outside the Go heap: converting it through
	// memory, not with unsafe.Pointer(addr), says so to go vet.
	return *(*unsafe.Pointer)(unsafe.Pointer(&addr)), nil
}

const supported = true

//go:build linux

package guard

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

func mmap(n uintptr) ([]byte, error) {
	return syscall.Mmap(-1, 0, int(n), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
}

// unmap unmaps [addr, addr+n), which the package mapped and never handed
// out.
func unmap(addr, n uintptr) error {
	if n == 0 {
		return nil
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_MUNMAP, addr, n, 0); errno != 0 {
		return errno
	}
	return nil
}

func protect(b []byte) error { return syscall.Mprotect(b, syscall.PROT_NONE) }

func unprotect(b []byte) error { return syscall.Mprotect(b, syscall.PROT_READ|syscall.PROT_WRITE) }

// discard gives the pages of b back to the kernel: they read as zero when
// next touched.
func discard(b []byte) error { return syscall.Madvise(b, syscall.MADV_DONTNEED) }

// maxMapCount returns the kernel's limit on a process's mappings.
func maxMapCount() int {
	b, err := os.ReadFile("/proc/sys/vm/max_map_count")
	if err != nil {
		return defaultMaxMapCount
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return defaultMaxMapCount
	}
	return n
}

// mapCount returns the number of mappings the process has now.
func mapCount() int {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte{'\n'})
}

const supported = true

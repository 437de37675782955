//go:build unix

package clock

import (
	"syscall"
	"time"
)

// ProcessCPU returns the CPU time the process has used, user and system,
// every thread and the garbage collector's workers included, and whether
// it is known.
func ProcessCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

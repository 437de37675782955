//go:build unix

package slabprom_test

import "syscall"

// processCPU returns the user and system CPU time of the process, in
// nanoseconds, and whether it could be read.
func processCPU() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}

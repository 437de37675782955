//go:build unix

package main

import (
	"os"
	"syscall"
	"time"
)

// ProcessCPU returns the CPU time the process has used, user and system,
// every thread and the garbage collector's workers included.
func ProcessCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// maxRSS returns the peak resident set of a finished child process, in
// bytes (Linux reports kilobytes), or 0 if unknown.
func maxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10
	}
	return 0
}

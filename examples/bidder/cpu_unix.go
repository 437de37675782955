//go:build unix

package main

import (
	"os"
	"syscall"
)

// maxRSS returns the peak resident set of a finished child process, in
// bytes (Linux reports kilobytes), or 0 if unknown.
func maxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10
	}
	return 0
}

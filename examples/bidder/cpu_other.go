//go:build !unix

package main

import (
	"os"
	"time"
)

// ProcessCPU reports false: the process's CPU time is read with getrusage,
// which only unix systems have.
func ProcessCPU() (time.Duration, bool) { return 0, false }

// maxRSS returns 0: the peak resident set comes from getrusage.
func maxRSS(*os.ProcessState) int64 { return 0 }

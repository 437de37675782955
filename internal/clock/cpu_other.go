//go:build !unix

package clock

import "time"

// ProcessCPU reports that the process's CPU time is not known here.
func ProcessCPU() (time.Duration, bool) { return 0, false }

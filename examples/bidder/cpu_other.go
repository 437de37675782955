//go:build !unix

package rtbwork

import "time"

// ProcessCPU reports false: the process's CPU time is read with getrusage,
// which only unix systems have.
func ProcessCPU() (time.Duration, bool) { return 0, false }

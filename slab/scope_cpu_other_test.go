//go:build !unix

package slab_test

import "time"

// processCPU is not available here: the per-request benchmarks leave out
// their cpu-ns/op metric.
func processCPU() (time.Duration, bool) { return 0, false }

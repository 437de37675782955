//go:build !unix

package slabprom_test

// processCPU reports that the process's CPU time cannot be read here.
func processCPU() (int64, bool) { return 0, false }

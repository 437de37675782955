//go:build !unix

package main

// processCPUSeconds returns 0: this platform's CPU time is not read here.
func processCPUSeconds() float64 { return 0 }

package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// The machine a comparison runs on: its load, and CPU pinning. Both are
// Linux facilities (/proc/loadavg, taskset from util-linux); elsewhere the
// load reads as unknown and pinning fails with an error that says why.

// loadAverage returns the 1, 5 and 15-minute load averages as
// /proc/loadavg gives them, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// loadAverage1 returns the 1-minute load average, or 0 if unknown.
func loadAverage1() float64 {
	f := strings.Fields(loadAverage())
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// pinSelf pins every thread of this process, and the threads and children
// it starts from now on, to the CPUs of the taskset list cpus.
func pinSelf(cpus string) error {
	out, err := exec.Command("taskset", "-a", "-p", "-c", cpus, strconv.Itoa(os.Getpid())).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pinning the load generator to CPUs %s with taskset: %v: %s", cpus, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Package clock gives debug records a cheap monotonic timestamp, so that
// reports can state how long ago an object was allocated or freed, and
// benchmarks the process's CPU time, which a busy machine's other
// processes do not inflate as they inflate wall-clock time.
package clock

import "time"

var epoch = time.Now()

// Now returns the nanoseconds elapsed since the process started, read from
// the monotonic clock: wall-clock steps do not change ages.
func Now() int64 { return int64(time.Since(epoch)) }

// Age returns how long ago the timestamp t (from Now) was taken, or 0 if t
// is 0 (never recorded).
func Age(t int64) time.Duration { return Since(Now(), t) }

// Since returns how long before now (from Now) the timestamp t was taken,
// at least 1ns, or 0 if t is 0 (never recorded). A report computes all its
// ages from one now, so that they keep the order of the events: ages taken
// at different instants (with slow symbolisation in between) can invert.
func Since(now, t int64) time.Duration {
	if t == 0 {
		return 0
	}
	return time.Duration(max(now-t, 1))
}

// Round rounds an age for a report: to the millisecond from a second on, to
// the microsecond from a millisecond on, and not below.
func Round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Microsecond)
	}
	return d
}

//go:build !slabdebug

package tracker

// enabled is false in release builds: no stacks, no side tables, and
// SLABTRACK_DEBUG is not read.
const enabled = false

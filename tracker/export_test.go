package tracker

import (
	"io"

	"github.com/slabtrack/slabtrack/internal/violation"
)

// SetOsExit replaces os.Exit for VerifyTestMain and returns a function that
// restores it.
func SetOsExit(f func(int)) (restore func()) {
	old := osExit
	osExit = f
	return func() { osExit = old }
}

// SetStderr replaces the writer of the default handling and returns a
// function that restores it.
func SetStderr(w io.Writer) (restore func()) { return violation.SetStderr(w) }

// Report and Panics are what package slab calls on a violation it detects,
// for tests of the default handling.
var (
	Report = violation.Report
	Panics = violation.Panics
)

// AddStats and AddScopeStats are PoolTotals' and ScopePoolTotals' sums.
var (
	AddStats      = addStats
	AddScopeStats = addScopeStats
)

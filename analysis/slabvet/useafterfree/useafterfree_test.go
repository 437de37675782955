package useafterfree_test

import (
	"path/filepath"
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/slabtrack/slabtrack/analysis/slabvet/useafterfree"
)

// TestUseAfterFree runs the check alone over its own cases: uses and
// second frees after Free, uses after a scope is released by Release, by
// its ScopePool's Put or by a helper that releases it, the elements of a
// slice after a loop that freed them all (and the loops that free only
// some, or whose slice is refilled or handed on), and function literals
// called or deferred after a Free (and those that run before it, check
// for nil, or recover their own panic).
func TestUseAfterFree(t *testing.T) {
	// The suite's testdata holds the stand-in slab package.
	dir, err := filepath.Abs(filepath.Join("..", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	analysistest.Run(t, dir, useafterfree.Analyzer, "uafcases")
}

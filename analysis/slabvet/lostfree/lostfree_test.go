package lostfree_test

import (
	"path/filepath"
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/slabtrack/slabtrack/analysis/slabvet/lostfree"
)

// TestSuggestedFix checks the "defer p.Free(x)" fix: offered where the
// object is only used locally outside a loop, and replacing the plain Free
// statements; not offered in a loop nor where the object may be kept.
func TestSuggestedFix(t *testing.T) {
	// The suite's testdata holds the stand-in slab package.
	dir, err := filepath.Abs(filepath.Join("..", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	analysistest.RunWithSuggestedFixes(t, dir, lostfree.Analyzer, "fix")
}

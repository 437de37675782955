package lostfree_test

import (
	"path/filepath"
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/slabtrack/slabtrack/analysis/slabvet/lostfree"
)

// TestLocalStruct checks that an object held in a field of a local struct
// is followed through the struct: lost on an error path that neither frees
// it nor lets the struct go; not reported where the field is freed, a
// method frees it, or the struct is returned or kept.
func TestLocalStruct(t *testing.T) {
	// The suite's testdata holds the stand-in slab package.
	dir, err := filepath.Abs(filepath.Join("..", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	analysistest.Run(t, dir, lostfree.Analyzer, "lostcases")
}

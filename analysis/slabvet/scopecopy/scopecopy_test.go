package scopecopy_test

import (
	"path/filepath"
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/slabtrack/slabtrack/analysis/slabvet/scopecopy"
)

// TestScopeCopy runs the check alone over its own cases: a dereferenced
// ScopeFrom, a send, append, and the functions of slices and maps that copy
// elements holding a Scope or a Pool; and the look-alikes it leaves alone
// (pointers, elements without a Scope, a method called through the
// dereference, a new scope's zero value).
func TestScopeCopy(t *testing.T) {
	// The suite's testdata holds the stand-in slab package.
	dir, err := filepath.Abs(filepath.Join("..", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	analysistest.Run(t, dir, scopecopy.Analyzer, "copycases")
}

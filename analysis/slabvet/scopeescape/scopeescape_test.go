package scopeescape_test

import (
	"path/filepath"
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/slabtrack/slabtrack/analysis/slabvet/scopeescape"
)

// TestScopeEscape runs the check alone over its own cases: decoded fields
// returned in a struct after ScopePool.Put (and their clones, and numbers,
// which are not reported), slices and strings returned after Release or
// kept in package-level variables and map keys, scoped objects kept by a
// method of a package-level value and by sync.Map.Store (and by the same
// method of a value made here, which is not reported), each message with
// the fix that fits the value's type.
func TestScopeEscape(t *testing.T) {
	// The suite's testdata holds the stand-in slab package.
	dir, err := filepath.Abs(filepath.Join("..", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	analysistest.Run(t, dir, scopeescape.Analyzer, "escapecases")
}

package slabvet_test

import (
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/slabtrack/slabtrack/analysis/slabvet/internal/lifetime"
)

// corpus lists the packages of the labelled corpus that the checks run on;
// corpus/helpers is analysed as their dependency, for its facts.
var corpus = []string{"corpus/pool", "corpus/xpkg", "corpus/handlers"}

// TestFacts checks the summaries that cross the package boundary in the
// corpus: which arguments each helper frees, keeps or only reads.
func TestFacts(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), lifetime.Analyzer, "corpus/helpers")
}

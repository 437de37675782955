package slabvet_test

import (
	"fmt"
	"reflect"

	"golang.org/x/tools/go/analysis"

	"github.com/slabtrack/slabtrack/analysis/slabvet"
)

// all runs every slabvet check and reports their diagnostics with the
// check's name in front, so that one analysistest run covers them all.
var all = &analysis.Analyzer{
	Name:       "slabvetall",
	Doc:        "every slabvet check, for tests",
	Requires:   slabvet.Analyzers(),
	ResultType: reflect.TypeFor[[]analysis.Diagnostic](),
	Run: func(pass *analysis.Pass) (any, error) {
		var out []analysis.Diagnostic
		for _, a := range slabvet.Analyzers() {
			for _, d := range pass.ResultOf[a].([]analysis.Diagnostic) {
				d.Message = fmt.Sprintf("%s: %s", a.Name, d.Message)
				d.Category = a.Name
				pass.Report(d)
				out = append(out, d)
			}
		}
		return out, nil
	},
}

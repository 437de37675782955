package slabvet_test

import (
	"fmt"
	"go/ast"
	"go/token"
	"slices"
	"sort"
	"strings"
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"
)

// A corpusCase is one labelled function of the corpus.
type corpusCase struct {
	pkg, name string
	kind      string // the check that should report it, or "ok"
	from, to  token.Pos
	reported  bool // a diagnostic of kind was reported in it
}

// tally counts, per check, the buggy cases reported (TP) and missed (FN),
// and the diagnostics that no case calls for (FP).
type tally struct{ tp, fp, fn int }

// TestPrecisionRecall runs every check over the labelled corpus, checks
// each diagnostic against the corpus's expectation comments, and measures precision (reported diagnostics that point at a labelled bug of
// their check) and recall (labelled bugs that some diagnostic of their
// check points at). A diagnostic in an "ok" case, in a case labelled for
// another check, or outside any case is a false positive; a buggy case with
// no diagnostic of its check is a false negative. Run with -v to see the
// figures. The test fails below 95% precision or 90% recall.
func TestPrecisionRecall(t *testing.T) {
	results := analysistest.Run(t, analysistest.TestData(), all, corpus...)
	var cases []*corpusCase
	byCheck := map[string]*tally{}
	get := func(k string) *tally {
		if byCheck[k] == nil {
			byCheck[k] = &tally{}
		}
		return byCheck[k]
	}
	var falsePos []string
	for _, r := range results {
		var mine []*corpusCase
		for _, f := range r.Pass.Files {
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Doc == nil {
					continue
				}
				kind, _, ok := strings.Cut(strings.TrimPrefix(fd.Doc.List[0].Text, "// case "), ":")
				if !ok || !strings.HasPrefix(fd.Doc.List[0].Text, "// case ") {
					continue
				}
				c := &corpusCase{pkg: r.Pass.Pkg.Path(), name: fd.Name.Name, kind: kind, from: fd.Pos(), to: fd.End()}
				mine = append(mine, c)
			}
		}
		for _, d := range r.Diagnostics {
			i := slices.IndexFunc(mine, func(c *corpusCase) bool { return c.from <= d.Pos && d.Pos <= c.to })
			switch {
			case i >= 0 && mine[i].kind == d.Category:
				mine[i].reported = true
			default:
				where := "outside any case"
				if i >= 0 {
					where = mine[i].name + " (" + mine[i].kind + ")"
				}
				get(d.Category).fp++
				falsePos = append(falsePos, fmt.Sprintf("%s: %s: %s", r.Pass.Fset.Position(d.Pos), where, d.Message))
			}
		}
		cases = append(cases, mine...)
	}
	var misses []string
	correct := 0
	for _, c := range cases {
		if c.kind == "ok" {
			correct++
			continue
		}
		if c.reported {
			get(c.kind).tp++
		} else {
			get(c.kind).fn++
			misses = append(misses, c.pkg+"."+c.name+" ("+c.kind+")")
		}
	}
	var total tally
	checks := make([]string, 0, len(byCheck))
	for k := range byCheck {
		checks = append(checks, k)
	}
	sort.Strings(checks)
	for _, k := range checks {
		n := byCheck[k]
		total.tp, total.fp, total.fn = total.tp+n.tp, total.fp+n.fp, total.fn+n.fn
		t.Logf("%-13s TP %2d  FP %2d  FN %2d", k, n.tp, n.fp, n.fn)
	}
	precision := float64(total.tp) / float64(total.tp+total.fp)
	recall := float64(total.tp) / float64(total.tp+total.fn)
	t.Logf("corpus: %d cases (%d buggy, %d correct)", len(cases), len(cases)-correct, correct)
	t.Logf("total         TP %2d  FP %2d  FN %2d  precision %.1f%%  recall %.1f%%", total.tp, total.fp, total.fn, 100*precision, 100*recall)
	for _, m := range misses {
		t.Logf("known miss: %s", m)
	}
	for _, f := range falsePos {
		t.Logf("false positive: %s", f)
	}
	if len(cases) < 60 {
		t.Errorf("the corpus has %d cases; it should have at least 60", len(cases))
	}
	if precision < 0.95 {
		t.Errorf("precision %.1f%% is below 95%%", 100*precision)
	}
	if recall < 0.90 {
		t.Errorf("recall %.1f%% is below 90%%", 100*recall)
	}
}

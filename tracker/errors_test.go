package tracker_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// quotedMessage finds the message that a sentinel's doc comment quotes.
var quotedMessage = regexp.MustCompile(`Its message is "([^"]+)"`)

// The values of the sentinels that internal/errs defines are out of
// godoc's sight: the doc comment of each one exported as errs.X quotes its
// message, and the quote must be the message. A sentinel defined with
// errors.New where it is exported shows its message itself.
func TestSentinelDocsQuoteTheirMessages(t *testing.T) {
	sentinels := map[string]error{
		"ErrDoubleFree":     slab.ErrDoubleFree,
		"ErrForeign":        slab.ErrForeign,
		"ErrExhausted":      slab.ErrExhausted,
		"ErrStaleRef":       slab.ErrStaleRef,
		"ErrScoped":         slab.ErrScoped,
		"ErrInvalidScope":   slab.ErrInvalidScope,
		"ErrScopeBusy":      slab.ErrScopeBusy,
		"ErrNilScope":       slab.ErrNilScope,
		"ErrScopeLimit":     slab.ErrScopeLimit,
		"ErrResetPanicked":  slab.ErrResetPanicked,
		"ErrWriteAfterFree": tracker.ErrWriteAfterFree,
		"ErrLeak":           tracker.ErrLeak,
		"ErrUseAfterFree":   tracker.ErrUseAfterFree,
	}
	seen := map[string]bool{}
	for _, file := range []string{"../slab/errors.go", "errors.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ParseComments)
		require.NoError(t, err, "%s parses", file)
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Err") || !fromErrs(vs, i) {
						continue
					}
					t.Run(name.Name, func(t *testing.T) {
						seen[name.Name] = true
						val, ok := sentinels[name.Name]
						require.True(t, ok, "%s is a sentinel this test knows", name.Name)
						doc := strings.Join(strings.Fields(vs.Doc.Text()), " ")
						m := quotedMessage.FindStringSubmatch(doc)
						require.NotNil(t, m, "the doc of %s quotes its message: %q", name.Name, doc)
						assert.Equal(t, val.Error(), m[1], "the doc of %s quotes the message it has", name.Name)
					})
				}
			}
		}
	}
	assert.Len(t, seen, len(sentinels), "every sentinel was found in its package's errors.go")
}

// fromErrs reports whether the i-th value of vs is a selector of package
// errs (errs.DoubleFree), whose message godoc does not show.
func fromErrs(vs *ast.ValueSpec, i int) bool {
	if i >= len(vs.Values) {
		return false
	}
	sel, ok := vs.Values[i].(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "errs"
}

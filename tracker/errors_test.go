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

// The sentinels' values are defined in internal/errs, where godoc does not
// look: the doc comment of each exported sentinel quotes its message, and
// the quote must be the message.
func TestSentinelDocsQuoteTheirMessages(t *testing.T) {
	sentinels := map[string]error{
		"ErrDoubleFree":     slab.ErrDoubleFree,
		"ErrForeign":        slab.ErrForeign,
		"ErrExhausted":      slab.ErrExhausted,
		"ErrStaleRef":       slab.ErrStaleRef,
		"ErrScoped":         slab.ErrScoped,
		"ErrReleased":       slab.ErrReleased,
		"ErrScopeBusy":      slab.ErrScopeBusy,
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
				for _, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Err") {
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

package slabjson_test

import (
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
	"github.com/slabtrack/slabtrack/slab/slabjson/internal/shapes"
)

// checkLines returns the lines of an error of Check, one per type.
func checkLines(t *testing.T, err error) []string {
	t.Helper()
	require.Error(t, err, "Check names types that json v2 decodes")
	lines := strings.Split(err.Error(), "\n")
	require.True(t, strings.HasPrefix(lines[0], "slab: slabjson: "), "the message starts with the package prefix: %q", lines[0])
	return lines[1:]
}

func TestCheckNamesWhatJSONv2Decodes(t *testing.T) {
	assert.NoError(t, slabjson.Check(&struct {
		A, B string
		C    []int
		D    *struct{ E []string }
		F    map[string][]float64
	}{}), "a type of plain kinds is decoded into the scope whole")
	assert.Contains(t, checkLines(t, slabjson.Check(&shapes.Scalars{}))[0], "[2]uint8: json v2 decodes byte arrays from base64", "shapes.Scalars holds a byte array")

	lines := checkLines(t, slabjson.Check(&shapes.Request{}))
	require.Len(t, lines, 1, "a Request has one value that json v2 decodes: %q", lines)
	assert.Contains(t, lines[0], "any: json v2 decides what an interface holds", "the interface value of Device.Ext")

	lines = checkLines(t, slabjson.Check(&shapes.Node{}))
	assert.Contains(t, lines[0], "shapes.Node: it embeds shapes.Embedded", "a struct that embeds another is json v2's")

	type withOptions struct {
		Q string `json:"q,string"`
	}
	lines = checkLines(t, slabjson.Check(new(withOptions)))
	assert.Contains(t, lines[0], "tag `json:\"q,string\"`", "a field's tag option that changes decoding is named")

	type methods struct {
		U shapes.Upper
		I shapes.Ints
		B []byte
		K map[int]string
	}
	lines = checkLines(t, slabjson.Check(methods{}))
	joined := strings.Join(lines, "\n")
	for _, want := range []string{"shapes.Upper: it has unmarshal methods", "shapes.Ints: it has unmarshal methods", "[]uint8: json v2 decodes byte slices from base64", "map[int]string: its keys are not strings"} {
		assert.Contains(t, joined, want, "Check names %s", want)
	}
	assert.Error(t, slabjson.Check(nil), "Check of nil is an error")
}

// TestCheckedTypesStillDecode shows that what Check names is decoded all
// the same, by json v2.
func TestCheckedTypesStillDecode(t *testing.T) {
	s := slab.NewScope()
	defer s.Release()
	var q shapes.Quoted
	in := []byte(`{"quoted":"q"}`)
	assert.Equal(t, json.Unmarshal(in, new(shapes.Quoted)), slabjson.Unmarshal(s, in, &q), "json v2's error for a string option on a string")
}

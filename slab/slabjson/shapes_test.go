package slabjson_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab/slabjson/internal/shapes"
)

// shape is one Go type the tests decode into.
type shape struct {
	name string
	new  func() any // a pointer to a zero value
}

func shapeOf[T any]() shape {
	return shape{reflect.TypeFor[T]().String(), func() any { return new(T) }}
}

func (s shape) String() string { return fmt.Sprintf("shape=%s", s.name) }

// allShapes are the shapes of the differential tests and the fuzz target:
// every kind the decoder decodes itself, nested in each other, and every
// kind it leaves to json v2 (shapes.Node embeds structs, so json v2
// decodes it whole).
var allShapes = []shape{
	shapeOf[shapes.Request](),
	shapeOf[shapes.Node](),
	shapeOf[*shapes.Node](),
	shapeOf[[]shapes.Node](),
	shapeOf[map[string]shapes.Node](),
	shapeOf[[]shapes.Flat](),
	shapeOf[shapes.Tagged](),
	shapeOf[shapes.Scalars](),
	shapeOf[[]*shapes.Scalars](),
	shapeOf[map[string]*shapes.Scalars](),
	shapeOf[shapes.Open](),
	shapeOf[[]shapes.OpenAny](),
	shapeOf[any](),
	shapeOf[[]any](),
	shapeOf[[]string](),
	shapeOf[[][]string](),
	shapeOf[string](),
}

// inputs are JSON documents for the shapes: valid ones, ones of the wrong
// kinds, and broken ones, so that errors are compared too.
var inputs = []string{
	`{"name":"a","tags":["x","y\u00e9\n"],"child":{"name":"b","kids":[{"name":"c"}]},"ptrs":[{"name":"d"},null],"num":3,"f":1.5,"b":true}`,
	`{"bytes":"aGVsbG8=","m":{"k":{"name":"m"},"n":null},"any":{"x":[1,"s",{"y":null}]},"named":"nm","names":["a","b"],"upper":"up","ints":[1,2,3]}`,
	`{"arr":["p","q"],"matrix":[[1,2],[],[3]],"pp":"deep","ps":["a","b"],"raw":{"keep":[1,2]},"when":"2024-01-02T03:04:05Z","Omit":"o","inner":"i","small":[1,2],"note":"n"}`,
	`{"Pairs":[{"k":"a","v":{"name":"pa"}},{"k":"b","v":null}],"names":[],"hidden":"h"}`,
	`{"tags":[],"kids":[],"ptrs":[],"child":null,"pp":null,"ps":null,"matrix":null}`,
	`[{"a":"1","b":"2","c":[1,2,3,4,5,6,7,8,9]},{"a":"","b":null,"c":[]},{}]`,
	`["s1","s2","","s\"4","\\[not an array]"]`,
	`[["a","b"],[],null,["c"]]`,
	`[ [ "a" , "]" ] , [ ] ]`,
	`"just a string"`,
	`{"fine":[1,2],"list":["a"]}`,
	`{"fine":[1],"nums":null}`,
	`{"nums":[]}`,
	`{"name":7}`,
	`{"tags":["ok",7]}`,
	`{"kids":[{"name":"ok"},{"name":false}]}`,
	`{"kids":[{"name":"ok"},{"num":"x"}],"name":"after"}`,
	`{"child":{"child":{"child":{"name":[1]}}}}`,
	`{"name":"dup","name":"again"}`,
	`{"tags":["unterminated`,
	`{"tags":["a","b"`,
	`{"kids":[{"name":"a"},`,
	`{"matrix":[[1,2],[3`,
	`[1,2,`,
	`[1,2,]`,
	`[1 2]`,
	`{"when":"not a time"}`,
	`{"small":[1,70000]}`,
	`{"id":"r","imp":[{"id":"1","banner":{"format":[{"w":300,"h":250}],"W":300,"api":[3,5]},"secure":1}],"site":{"page":"p","ext":{"a": [1, 2]}},"user":{"data":[{"segment":[{"id":"s"}],"attrs":{"k":"v"}}],"ext":{"x":[1,{"y":2}]}}}`,
	`{"id":"r","imp":[{"id":1}]}`,
	`{"id":"r","imp":[{"id":"1","banner":{"format":[{"w":"wide"}]}}]}`,
	`{"id":"r","device":{"geo":{"Lat":"north"}}}`,
	`{"id":"r","imp":[{"id":"1"},{"id":"2"}],"imp":[{"id":"3"}]}`,
	`{"id":"r","imp":[{"id":"1","ext":null,"pmp":{"deals":[{"id":"d","bidfloor":1e39}]}}]}`,
	`{"id":"r","ext":{"a":1,"b":{"c":[]},"a":2}}`,
	`{"id":"r","ext":{"a":1,"\u0061":2}}`,
	`{"id":"r","unknown":{"x":1,"x":2}}`,
	`{"id":"r","unknown":[{"x":1},{"x":1,"y":[true,false,null,-0.5e-3]}],"tmax":120}`,
	`{"I":-9223372036854775808,"I8":-128,"I16":32767,"I32":-2147483648,"I64":9223372036854775807,"U":18446744073709551615,"U8":255,"U16":65535,"U32":4294967295,"U64":0,"F32":3.4028234e38,"F64":-1.7976931348623157e308,"B":false,"S":"\u00e9\ud83d\ude00","N":"n","A":[1,-2,3],"BA":"AQI="}`,
	`{"I8":128}`,
	`{"I8":-129}`,
	`{"U8":-1}`,
	`{"U":-0}`,
	`{"I":-0}`,
	`{"I":1.0}`,
	`{"I":1e2}`,
	`{"I":01}`,
	`{"I":-}`,
	`{"F64":1e400}`,
	`{"F32":1e39}`,
	`{"F32":1e-50}`,
	`{"F64":.5}`,
	`{"F64":5.}`,
	`{"F64":1e}`,
	`{"U64":18446744073709551616}`,
	`{"A":[1,2]}`,
	`{"A":[1,2,3,4]}`,
	`{"A":null,"P":{"I":1,"P":{"S":"deep"}},"M":{"a":null,"b":{"I":1},"c":{"S":"x"}}}`,
	`{"M":{"a":{"I":1},"a":{"I":2}}}`,
	`{"\u0049":5}`,
	`{"I":1,"\u0049":2}`,
	`{"S":"\ud800\udc00","N":"\u0000"}`,
	`{"S":"\udc00"}`,
	`{"S":"\ud800\u0041"}`,
	`{"S":"tab	in"}`,
	"{\"S\":\"\xed\xa0\x80\"}",
	`{"S":"\x"}`,
	`{"B":tru}`,
	`{"B":truex}`,
	`{"B":null,"S":null,"P":null,"M":null}`,
	`[{"I":1},null,{"P":{"I":2}}]`,
	`{"a":{"I":1},"b":null}`,
	` { "I" : 1 , "S" : "x" } `,
	`{"I":1}{}`,
	`{"I":1,}`,
	`{,"I":1}`,
	`{"I" 1}`,
	`{"I":1 "S":"x"}`,
	`{'I':1}`,
	`{"a":"x","b":1,"c":{"d":[]},"e":null}`,
	`{"b":1,"a":"x","b":2}`,
	`[{"a":{"a":"in","z":true},"y":[1,"s"]},{"x":{}},{}]`,
	`[{"a":{"a":1}}]`,
	`null`,
	``,
	`   `,
	`  {"name":"trailing"} x`,
	`{"name":"\ud800"}`,
	"{\"name\":\"\xff\"}",
	`{[0`,
}

// sample returns the bid request of testdata/bidrequest-<n>.json, 9 KB of
// an OpenRTB 2.5 request as an exchange sends it.
func sample(t testing.TB, n int) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", fmt.Sprintf("bidrequest-%d.json", n)))
	require.NoError(t, err, "the sample is in testdata")
	return b
}

// samples returns the six samples.
func samples(t testing.TB) [][]byte {
	var out [][]byte
	for n := 1; n <= 6; n++ {
		out = append(out, sample(t, n))
	}
	return out
}

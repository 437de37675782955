package slabjson_test

import (
	"fmt"
	"reflect"

	"github.com/slabtrack/slabtrack/internal/openrtb"
	"github.com/slabtrack/slabtrack/slab/slabjson"
	"github.com/slabtrack/slabtrack/slab/slabjson/internal/shapes"
)

// shape is one Go type the tests decode into, with the hooks of a Decoder
// for it.
type shape struct {
	name  string
	new   func() any // a pointer to a zero value
	hooks []slabjson.Hook
}

func shapeOf[T any](hooks ...slabjson.Hook) shape {
	return shape{reflect.TypeFor[T]().String(), func() any { return new(T) }, hooks}
}

func (s shape) String() string { return fmt.Sprintf("shape=%s", s.name) }

// allShapes are the shapes of the differential tests and the fuzz target.
// nodeHooks and flatHooks are in check_golden_test.go, written by Check.
var allShapes = []shape{
	shapeOf[openrtb.BidRequest](requestHooks()...),
	shapeOf[shapes.Node](nodeHooks...),
	shapeOf[*shapes.Node](append([]slabjson.Hook{slabjson.Pointer[shapes.Node]()}, nodeHooks...)...),
	shapeOf[[]shapes.Node](nodeHooks...),
	shapeOf[map[string]shapes.Node](nodeHooks...),
	shapeOf[[]shapes.Flat](append([]slabjson.Hook{slabjson.Slice[shapes.Flat]()}, flatHooks...)...),
	shapeOf[shapes.Tagged](slabjson.Slice[string](), slabjson.Slice[int]()),
	shapeOf[any](),
	shapeOf[[]any](slabjson.Slice[any]()),
	shapeOf[[]string](slabjson.Slice[string]()),
	shapeOf[[][]string](slabjson.Slice[[]string](), slabjson.Slice[string]()),
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
	`{"id":"r","imp":[{"id":"1","banner":{"format":[{"w":300,"h":250}],"w":300},"secure":1}],"site":{"page":"p"},"user":{"data":[{"segment":[{"id":"s"}]}]}}`,
	`{"id":"r","imp":[{"id":1}]}`,
	`{"id":"r","imp":[{"id":"1","banner":{"format":[{"w":"wide"}]}}]}`,
	`{"id":"r","device":{"geo":{"lat":"north"}}}`,
	`{"id":"r","imp":[{"id":"1"},{"id":"2"}],"imp":[{"id":"3"}]}`,
	`null`,
	``,
	`   `,
	`  {"name":"trailing"} x`,
	`{"name":"\ud800"}`,
	"{\"name\":\"\xff\"}",
	`{[0`,
}

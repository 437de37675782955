package scopedec_test

import (
	"encoding"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/slabtrack/slabtrack/internal/rtbwork"
	"github.com/slabtrack/slabtrack/internal/rtbwork/scopedec"
)

// The struct shapes the differential tests and the fuzz target decode:
// every kind the hooks act on (pointers, slices, strings, named strings),
// nested in each other, beside every kind they leave to json v2 (maps,
// interfaces, byte slices, arrays, types with unmarshal methods, time).

type namedString string

// upper is a string kind with an UnmarshalText method: json v2 calls it,
// so the hooks must leave it alone.
type upper string

func (u *upper) UnmarshalText(b []byte) error {
	*u = upper(strings.ToUpper(string(b)))
	return nil
}

var _ encoding.TextUnmarshaler = (*upper)(nil)

// ints is a slice kind with an UnmarshalJSON method.
type ints []int

func (s *ints) UnmarshalJSON(b []byte) error {
	*s = append((*s)[:0], len(b))
	return nil
}

type node struct {
	Name   string           `json:"name"`
	Tags   []string         `json:"tags"`
	Child  *node            `json:"child"`
	Kids   []node           `json:"kids"`
	Ptrs   []*node          `json:"ptrs"`
	Num    int              `json:"num"`
	F      float64          `json:"f"`
	B      bool             `json:"b"`
	Bytes  []byte           `json:"bytes"`
	M      map[string]*node `json:"m"`
	Any    any              `json:"any"`
	Named  namedString      `json:"named"`
	Upper  upper            `json:"upper"`
	Ints   ints             `json:"ints"`
	Arr    [2]string        `json:"arr"`
	Matrix [][]int          `json:"matrix"`
	PP     **string         `json:"pp"`
	PS     *[]string        `json:"ps"`
	Raw    jsontext.Value   `json:"raw"`
	When   *time.Time       `json:"when"`
	Omit   string           `json:",omitempty"`
	embedded
}

type embedded struct {
	Inner string   `json:"inner"`
	Small []uint16 `json:"small"`
}

type flat struct {
	A string  `json:"a"`
	B *string `json:"b"`
	C []int   `json:"c"`
}

// shape is one Go type the tests decode into.
type shape struct {
	name  string
	new   func() any // a pointer to a zero value
	hooks []scopedec.Hook
}

func shapeOf[T any](hooks ...scopedec.Hook) shape {
	return shape{reflect.TypeFor[T]().String(), func() any { return new(T) }, hooks}
}

var nodeHooks = []scopedec.Hook{
	scopedec.Pointer[node](), scopedec.Slice[node](), scopedec.Slice[*node](), scopedec.Slice[string](),
	scopedec.Pointer[string](), scopedec.Pointer[*string](), scopedec.Pointer[[]string](),
	scopedec.Slice[[]int](), scopedec.Slice[int](), scopedec.Slice[uint16](), scopedec.String[namedString](),
	scopedec.Pointer[time.Time](),
}

// requestHooks are the typed hooks of every pointer and slice type of a
// bid request.
var requestHooks = rtbwork.RequestHooks()

var shapes = []shape{
	shapeOf[rtbwork.BidRequest](requestHooks...),
	shapeOf[node](nodeHooks...),
	shapeOf[*node](nodeHooks...),
	shapeOf[[]node](nodeHooks...),
	shapeOf[map[string]node](nodeHooks...),
	shapeOf[[]flat](scopedec.Slice[flat](), scopedec.Pointer[string](), scopedec.Slice[int]()),
	shapeOf[any](),
	shapeOf[[]string](scopedec.Slice[string]()),
	shapeOf[string](),
}

// inputs are JSON documents for the shapes: valid ones, ones of the wrong
// kinds, and broken ones, so that errors are compared too.
var inputs = []string{
	`{"name":"a","tags":["x","y\u00e9\n"],"child":{"name":"b","kids":[{"name":"c"}]},"ptrs":[{"name":"d"},null],"num":3,"f":1.5,"b":true}`,
	`{"bytes":"aGVsbG8=","m":{"k":{"name":"m"},"n":null},"any":{"x":[1,"s",{"y":null}]},"named":"nm","upper":"up","ints":[1,2,3]}`,
	`{"arr":["p","q"],"matrix":[[1,2],[],[3]],"pp":"deep","ps":["a","b"],"raw":{"keep":[1,2]},"when":"2024-01-02T03:04:05Z","Omit":"o","inner":"i","small":[1,2]}`,
	`{"tags":[],"kids":[],"ptrs":[],"child":null,"pp":null,"ps":null,"matrix":null}`,
	`[{"a":"1","b":"2","c":[1,2,3,4,5,6,7,8,9]},{"a":"","b":null,"c":[]},{}]`,
	`["s1","s2","","s\"4"]`,
	`"just a string"`,
	`{"name":7}`,
	`{"tags":["ok",7]}`,
	`{"kids":[{"name":"ok"},{"name":false}]}`,
	`{"kids":[{"name":"ok"},{"num":"x"}],"name":"after"}`,
	`{"child":{"child":{"child":{"name":[1]}}}}`,
	`{"name":"dup","name":"again"}`,
	`{"tags":["unterminated`,
	`{"kids":[{"name":"a"},`,
	`[1,2,`,
	`{"when":"not a time"}`,
	`{"small":[1,70000]}`,
	`{"id":"r","imp":[{"id":"1","banner":{"format":[{"w":300,"h":250}],"w":300},"secure":1}],"site":{"page":"p"},"user":{"data":[{"segment":[{"id":"s"}]}]}}`,
	`{"id":"r","imp":[{"id":1}]}`,
	`{"id":"r","imp":[{"id":"1","banner":{"format":[{"w":"wide"}]}}]}`,
	`{"id":"r","device":{"geo":{"lat":"north"}}}`,
	`null`,
	``,
	`  {"name":"trailing"} x`,
	`{"name":"\ud800"}`,
	"{\"name\":\"\xff\"}",
}

func (s shape) String() string { return fmt.Sprintf("shape=%s", s.name) }

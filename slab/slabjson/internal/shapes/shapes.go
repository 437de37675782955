// Package shapes holds the Go types that the tests of package slabjson
// decode into: every kind the hooks act on (pointers, slices, named
// slices, strings, named strings), nested in each other, beside every
// kind they leave to json v2 (maps, interfaces, byte slices, arrays, types
// with unmarshal methods, time, raw values, embedded pointers). They live
// in a package of their own so that Check's output, which names them as a
// program outside their package does, compiles in the tests.
package shapes

import (
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// Name is a named string type.
type Name string

// Upper is a string kind with an UnmarshalText method: json v2 calls it,
// so the hooks leave it alone.
type Upper string

// UnmarshalText sets u to b in upper case.
func (u *Upper) UnmarshalText(b []byte) error {
	*u = Upper(strings.ToUpper(string(b)))
	return nil
}

// Ints is a slice kind with an UnmarshalJSON method.
type Ints []int

// UnmarshalJSON sets s to the length of b.
func (s *Ints) UnmarshalJSON(b []byte) error {
	*s = append((*s)[:0], len(b))
	return nil
}

// Names is a named slice type.
type Names []Name

// Pair is a generic type, so that Check names its type arguments.
type Pair[K comparable, V any] struct {
	Key   K `json:"k"`
	Value V `json:"v"`
}

// Node is a tree of every kind.
type Node struct {
	Name   string           `json:"name"`
	Tags   []string         `json:"tags"`
	Child  *Node            `json:"child"`
	Kids   []Node           `json:"kids"`
	Ptrs   []*Node          `json:"ptrs"`
	Num    int              `json:"num"`
	F      float64          `json:"f"`
	B      bool             `json:"b"`
	Bytes  []byte           `json:"bytes"`
	M      map[string]*Node `json:"m"`
	Any    any              `json:"any"`
	Named  Name             `json:"named"`
	Names  Names            `json:"names"`
	Upper  Upper            `json:"upper"`
	Ints   Ints             `json:"ints"`
	Arr    [2]string        `json:"arr"`
	Matrix [][]int          `json:"matrix"`
	PP     **string         `json:"pp"`
	PS     *[]string        `json:"ps"`
	Raw    jsontext.Value   `json:"raw"`
	When   *time.Time       `json:"when"`
	Pairs  []Pair[Name, *Node]
	Omit   string `json:",omitempty"`
	Embedded
	*Extra
	hidden string
}

// Embedded is embedded in Node: json v2 inlines its fields.
type Embedded struct {
	Inner string   `json:"inner"`
	Small []uint16 `json:"small"`
}

// Extra is embedded in Node through a pointer, which json v2 allocates
// itself when one of its fields appears.
type Extra struct {
	Note string `json:"note"`
}

// Flat is a small struct of a string, a pointer and a slice.
type Flat struct {
	A string  `json:"a"`
	B *string `json:"b"`
	C []int   `json:"c"`
}

// Tagged has slice fields with the `string` tag option, which json v2
// rejects for slices.
type Tagged struct {
	//lint:ignore SA5008 the tests compare how json v2 and slabjson reject it
	List []string `json:"list,string"`
	//lint:ignore SA5008 the tests compare how json v2 and slabjson reject it
	Nums []int `json:"nums,string"`
	Fine []int `json:"fine"`
}

// Quoted has string fields with the `string` tag option, which json v2
// rejects for strings and the hook of strings cannot see.
type Quoted struct {
	Quoted string `json:"quoted,string"`
	Named  *Name  `json:"named,omitempty,string"`
	Plain  string `json:"plain"`
}

// Hidden returns the unexported field, which json v2 never decodes.
func (n *Node) Hidden() string { return n.hidden }

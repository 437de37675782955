// Package shapes holds the Go types that the tests of package slabjson
// decode into: every kind Unmarshal places in the scope (pointers, slices,
// named slices, strings, named strings, maps, raw values), nested in each
// other, beside every kind it leaves to json v2 (interfaces, byte slices,
// types with unmarshal methods, time, embedded pointers). They live
// in a package of their own so that Check's output, which names them as a
// program outside their package does, compiles in the tests.
package shapes

import (
	jsonv1 "encoding/json"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// Name is a named string type.
type Name string

// Upper is a string kind with an UnmarshalText method: json v2 calls it,
// so Unmarshal leaves it to json v2.
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
// rejects for strings: Check names them, and json v2 decodes them.
type Quoted struct {
	Quoted string `json:"quoted,string"`
	Named  *Name  `json:"named,omitempty,string"`
	Plain  string `json:"plain"`
}

// Hidden returns the unexported field, which json v2 never decodes.
func (n *Node) Hidden() string { return n.hidden }

// Request is the part of an OpenRTB 2.5 bid request that a bidder reads
// first. The samples in testdata decode into it, their other members unknown
// to it, as real requests are to every bidder.
type Request struct {
	ID     string                       `json:"id"`
	Imp    []Imp                        `json:"imp"`
	Site   *Site                        `json:"site,omitempty"`
	Device *Device                      `json:"device,omitempty"`
	User   *User                        `json:"user,omitempty"`
	TMax   int                          `json:"tmax,omitzero"`
	Cur    []string                     `json:"cur,omitempty"`
	BCat   []string                     `json:"bcat,omitempty"`
	Ext    map[string]jsonv1.RawMessage `json:"ext,omitempty"`
}

// Imp is an impression of a Request.
type Imp struct {
	ID       string            `json:"id"`
	Banner   *Banner           `json:"banner,omitempty"`
	PMP      *PMP              `json:"pmp,omitempty"`
	TagID    string            `json:"tagid,omitempty"`
	BidFloor float64           `json:"bidfloor,omitzero"`
	Secure   *int8             `json:"secure,omitempty"`
	Exp      uint32            `json:"exp,omitzero"`
	Ext      jsonv1.RawMessage `json:"ext,omitempty"`
}

// Banner is the display slot of an Imp.
type Banner struct {
	Format []Format `json:"format,omitempty"`
	W, H   *int
	BAttr  []int8   `json:"battr,omitempty"`
	MIMEs  []string `json:"mimes,omitempty"`
	API    [2]int16 `json:"api"`
}

// Format is a size a Banner accepts.
type Format struct {
	W int `json:"w"`
	H int `json:"h"`
}

// PMP holds the deals of an Imp.
type PMP struct {
	Deals []Deal `json:"deals"`
}

// Deal is a private deal.
type Deal struct {
	ID       string   `json:"id"`
	BidFloor float32  `json:"bidfloor"`
	WSeat    []string `json:"wseat,omitempty"`
}

// Site is where the page is.
type Site struct {
	Page string         `json:"page"`
	Cat  []string       `json:"cat"`
	Ext  jsontext.Value `json:"ext"`
}

// Device is what the page runs on.
type Device struct {
	UA  string  `json:"ua"`
	Geo *Geo    `json:"geo"`
	DNT *uint8  `json:"dnt"`
	PxR float64 `json:"pxratio"`
	Ext any     `json:"ext"`
}

// Geo is where the device is.
type Geo struct {
	Lat, Lon float64
	Country  string `json:"country"`
}

// User is who sees the page.
type User struct {
	ID   string   `json:"id"`
	Data []Data   `json:"data"`
	Ext  *UserExt `json:"ext"`
}

// UserExt is a user's consent string and ids.
type UserExt struct {
	Consent string `json:"consent"`
	EIDs    []struct {
		Source string `json:"source"`
		UIDs   []struct {
			ID    string `json:"id"`
			AType int    `json:"atype"`
		} `json:"uids"`
	} `json:"eids"`
}

// Data is a user's data segments from one provider.
type Data struct {
	ID      string            `json:"id"`
	Segment []Segment         `json:"segment"`
	Attrs   map[string]string `json:"attrs"`
}

// Segment is one data segment.
type Segment struct {
	ID    string `json:"id"`
	Value string `json:"value,omitempty"`
}

// Scalars has a field of every scalar kind, for the numbers' limits.
type Scalars struct {
	I   int
	I8  int8
	I16 int16
	I32 int32
	I64 int64
	U   uint
	U8  uint8
	U16 uint16
	U32 uint32
	U64 uint64
	F32 float32
	F64 float64
	B   bool
	S   string
	N   Name
	P   *Scalars
	M   map[Name]*Scalars
	A   [3]int16
	BA  [2]uint8
}

// Open keeps the members it has no field for, as json v2 does with an
// embedded fallback.
type Open struct {
	A    string                       `json:"a"`
	Rest map[string]jsonv1.RawMessage `json:",embed"`
}

// OpenAny keeps the members it has no field for as json v2 decodes any
// value.
type OpenAny struct {
	A    *Open          `json:"a"`
	Rest map[string]any `json:",embed"`
}

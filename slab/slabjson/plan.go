package slabjson

import (
	"encoding"
	jsonv1 "encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/slabtrack/slabtrack/internal/poison"
	"github.com/slabtrack/slabtrack/slab/internal/scopeapi"
)

// Plans. The decoder decodes each Go type by a plan built once, on the
// first Unmarshal into a value of it, and kept for the life of the process:
// what kind of value it is, the offsets and plans of a struct's fields, a
// table to find a field by its JSON name, the scope's handle of the type.
// A plan covers what json v2 decodes by reflection with its default
// options: booleans, numbers, strings, structs with ordinary fields,
// pointers, slices, arrays, maps with string keys, and json.RawMessage and
// jsontext.Value, which it copies. Everything else (types with unmarshal
// methods, interfaces, []byte, maps with other keys, struct fields with tag
// options that change decoding, embedded fields) is a fallback: json v2
// decodes the value on the heap, as it would without slabjson.

type planKind uint8

const (
	kindFallback planKind = iota // json v2 decodes the value
	kindBool
	kindInt
	kindUint
	kindFloat
	kindString
	kindStruct
	kindPointer
	kindSlice
	kindArray
	kindMap
	kindRaw // json.RawMessage, jsontext.Value: the value's bytes, as they are
)

// A plan is how the decoder decodes one Go type.
type plan struct {
	kind planKind
	typ  reflect.Type
	size uintptr
	// bits is the width of an integer or float kind.
	bits int
	// ptrs reports whether values of the type hold pointers.
	ptrs bool
	// rtype is the runtime's descriptor of typ, for typed copies.
	rtype unsafe.Pointer
	// et is the scope's handle of typ: for pointers and slices, of their
	// element type, the values they allocate.
	et unsafe.Pointer
	// elem is the plan of a pointer's, slice's or array's element or a
	// map's value; n is an array's length.
	elem *plan
	n    int
	// fields and names describe a struct's fields; embed is the field that
	// takes the members no other field takes (`json:",embed"`), a map.
	fields []field
	names  nameTable
	embed  *field
	// why says why the type is a fallback, for Check.
	why string
}

// A field is a struct field the decoder fills.
type field struct {
	name string // its JSON name
	off  uintptr
	plan *plan
}

// plans caches a plan per type: a map that is replaced whole when a plan
// is added, so that lookups take no lock.
var plans struct {
	mu  sync.Mutex // serialises building
	tab atomic.Pointer[map[reflect.Type]*plan]
}

// planOf returns the plan of t, building it on first use.
func planOf(t reflect.Type) *plan {
	if m := plans.tab.Load(); m != nil {
		if p := (*m)[t]; p != nil {
			return p
		}
	}
	plans.mu.Lock()
	defer plans.mu.Unlock()
	old := plans.tab.Load()
	if old != nil {
		if p := (*old)[t]; p != nil {
			return p
		}
	}
	b := planBuilder{built: make(map[reflect.Type]*plan)}
	p := b.build(t)
	m := make(map[reflect.Type]*plan, len(b.built))
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	for k, v := range b.built {
		m[k] = v
	}
	plans.tab.Store(&m)
	return p
}

// planBuilder builds the plans of one type and the types it reaches.
type planBuilder struct {
	built map[reflect.Type]*plan
}

var (
	unmarshalerFromType = reflect.TypeFor[json.UnmarshalerFrom]()
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	rawMessageType      = reflect.TypeFor[jsonv1.RawMessage]()
	jsontextValueType   = reflect.TypeFor[jsontext.Value]()
)

// hasUnmarshalMethods reports whether json v2 decodes values of t with
// their own methods, which it does for every kind but pointers and
// interfaces (arshal_methods.go).
func hasUnmarshalMethods(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface {
		return false
	}
	pt := reflect.PointerTo(t)
	return pt.Implements(unmarshalerFromType) || pt.Implements(unmarshalerType) || pt.Implements(textUnmarshalerType)
}

func (b *planBuilder) build(t reflect.Type) *plan {
	if p := b.built[t]; p != nil {
		return p
	}
	if m := plans.tab.Load(); m != nil {
		if p := (*m)[t]; p != nil {
			return p
		}
	}
	p := &plan{typ: t, size: t.Size()}
	b.built[t] = p // before the elements: a type may reach itself
	p.rtype = (*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1]
	p.ptrs = !poison.PointerFree(t)
	switch {
	case t == rawMessageType || t == jsontextValueType:
		p.kind = kindRaw
		p.et = scopeapi.ElemType(t.Elem())
		return p
	case hasUnmarshalMethods(t):
		return p.fallback("it has unmarshal methods, which json v2 calls")
	}
	switch t.Kind() {
	case reflect.Bool:
		p.kind = kindBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		p.kind, p.bits = kindInt, int(t.Size())*8
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		p.kind, p.bits = kindUint, int(t.Size())*8
	case reflect.Float32, reflect.Float64:
		p.kind, p.bits = kindFloat, int(t.Size())*8
	case reflect.String:
		p.kind = kindString
	case reflect.Pointer:
		p.kind = kindPointer
		p.elem = b.build(t.Elem())
		if t.Elem().Size() == 0 {
			return p.fallback("it points to a zero-size type")
		}
		p.et = scopeapi.ElemType(t.Elem())
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return p.fallback("json v2 decodes byte slices from base64")
		}
		if t.Elem().Size() == 0 {
			return p.fallback("its elements have no size")
		}
		p.kind = kindSlice
		p.elem = b.build(t.Elem())
		p.et = scopeapi.ElemType(t.Elem())
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return p.fallback("json v2 decodes byte arrays from base64")
		}
		p.kind, p.n = kindArray, t.Len()
		p.elem = b.build(t.Elem())
	case reflect.Map:
		if t.Key().Kind() != reflect.String || hasUnmarshalMethods(t.Key()) {
			return p.fallback("its keys are not strings")
		}
		if t.Elem().Size() > 128 {
			return p.fallback("its values are larger than 128 bytes")
		}
		p.kind = kindMap
		p.elem = b.build(t.Elem())
	case reflect.Struct:
		if why := b.buildStruct(p); why != "" {
			return p.fallback(why)
		}
	case reflect.Interface:
		return p.fallback("json v2 decides what an interface holds")
	default:
		return p.fallback("json v2 has no representation for it")
	}
	return p
}

func (p *plan) fallback(why string) *plan {
	p.kind, p.why = kindFallback, why
	p.elem, p.fields = nil, nil
	return p
}

// buildStruct fills in the fields of the struct plan p, or says why json
// v2 must decode the struct: its fields follow rules the plan does not
// follow (embedding, tag options that change decoding), or json v2 rejects
// the type, which it reports as it decodes.
func (b *planBuilder) buildStruct(p *plan) string {
	t := p.typ
	seen := make(map[string]bool)
	tagged := false
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, hasTag := sf.Tag.Lookup("json")
		tagged = tagged || hasTag
		if tag == "-" {
			continue
		}
		if sf.Anonymous {
			return "it embeds " + sf.Type.String() + ", whose fields json v2 inlines"
		}
		if !sf.IsExported() {
			if hasTag {
				return "json v2 rejects the tag of its unexported field " + sf.Name
			}
			continue
		}
		if tag == ",embed" && sf.Type.Kind() == reflect.Map && p.embed == nil {
			fp := b.build(sf.Type)
			if fp.kind != kindMap {
				return "the members its field " + sf.Name + " takes are decoded by json v2"
			}
			p.embed = &field{off: sf.Offset, plan: fp}
			continue
		}
		name, ok := fieldName(sf.Name, tag)
		if !ok {
			return fmt.Sprintf("field %s has the tag `json:%q`, whose options change decoding", sf.Name, tag)
		}
		if seen[name] {
			return "two fields have the JSON name " + name
		}
		seen[name] = true
		p.fields = append(p.fields, field{name: name, off: sf.Offset, plan: b.build(sf.Type)})
	}
	if t.NumField() > 0 && len(p.fields) == 0 && !tagged {
		return "json v2 rejects a struct with no field it can decode"
	}
	if len(p.fields) > maxFields {
		return fmt.Sprintf("it has more than %d fields", maxFields)
	}
	p.kind = kindStruct
	p.names = newNameTable(p.fields)
	return ""
}

// maxFields bounds the fields of a struct the decoder fills: it tracks the
// fields an object names in one word per 64.
const maxFields = 256

// fieldName returns the JSON name of the field goName with the json tag
// tag, and false if the tag has an option other than omitempty and
// omitzero (which do not change decoding) or a name that json v2 reads by
// rules of its own (quoted, escaped, invalid UTF-8).
func fieldName(goName, tag string) (string, bool) {
	name, opts, _ := strings.Cut(tag, ",")
	if strings.ContainsAny(name, "\\'\"`") || !utf8.ValidString(name) {
		return "", false
	}
	if name == "" {
		name = goName
	}
	if strings.Contains(tag, ",") {
		for o := range strings.SplitSeq(opts, ",") {
			if o != "omitempty" && o != "omitzero" {
				return "", false
			}
		}
	}
	return name, true
}

// A nameTable finds a struct field by the bytes of its JSON name: by the
// name's length, then by comparison with the few names of that length.
type nameTable struct {
	byLen [][]uint16 // field indexes by name length, up to maxIndexedName
	long  []uint16   // fields with longer names
}

const maxIndexedName = 32

func newNameTable(fields []field) nameTable {
	var nt nameTable
	for i, f := range fields {
		if n := len(f.name); n < maxIndexedName {
			if len(nt.byLen) <= n {
				nt.byLen = append(nt.byLen, make([][]uint16, n+1-len(nt.byLen))...)
			}
			nt.byLen[n] = append(nt.byLen[n], uint16(i))
		} else {
			nt.long = append(nt.long, uint16(i))
		}
	}
	return nt
}

// find returns the index of the field named name, or -1.
func (p *plan) find(name []byte) int {
	cands := p.names.long
	if n := len(name); n < maxIndexedName {
		if n >= len(p.names.byLen) {
			return -1
		}
		cands = p.names.byLen[n]
	}
	for _, i := range cands {
		if p.fields[i].name == string(name) {
			return int(i)
		}
	}
	return -1
}

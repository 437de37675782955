package slabjson

import (
	"encoding"
	"fmt"
	"reflect"

	"github.com/go-json-experiment/json"
)

// A Hook tells a Decoder to place the values of one Go type in the scope:
// the objects of a pointer type (Pointer), the backing arrays of a slice
// type (Slice, NamedSlice), the bytes of a named string type (String).
// json v2 calls the unmarshal functions of exactly the types it is given,
// so every such type reachable from the decoded value needs its Hook;
// Decoder.Check lists those missing. The zero Hook is not valid.
type Hook struct {
	typ  reflect.Type // the Go type whose values the hook decodes
	kind plan
	// bind makes the hook's unmarshal function for one decoder state: the
	// function reads the scope from st when it runs.
	bind func(st *decodeState) *json.Unmarshalers
}

// plan is what a hook does with the values of one type.
type plan uint8

const (
	planDefault plan = iota // leave the value to json v2
	planPointer             // give a nil pointer its object in the scope
	planSlice               // decode an array into a backing array in the scope
	planString              // unquote a string into the scope's bytes
	planAny                 // decode the empty interface as json v2 does without hooks
)

var (
	unmarshalerFromType = reflect.TypeFor[json.UnmarshalerFrom]()
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	anyType             = reflect.TypeFor[any]()
	stringType          = reflect.TypeFor[string]()
)

// hasUnmarshalMethods reports whether json v2 decodes values of t with
// their own methods (arshal_methods.go, makeMethodArshaler), which it
// does for every kind but pointers and interfaces.
func hasUnmarshalMethods(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface {
		return false
	}
	pt := reflect.PointerTo(t)
	return pt.Implements(unmarshalerFromType) || pt.Implements(unmarshalerType) || pt.Implements(textUnmarshalerType)
}

// planFor decides what the hooks do with values of type t, following json
// v2's choice of unmarshal function (arshal_default.go,
// makeDefaultArshaler): types with unmarshal methods and byte slices
// (base64) are json v2's; so are interfaces other than the empty one.
func planFor(t reflect.Type) plan {
	if hasUnmarshalMethods(t) {
		return planDefault
	}
	switch t.Kind() {
	case reflect.Pointer:
		return planPointer
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return planDefault
		}
		return planSlice
	case reflect.String:
		return planString
	case reflect.Interface:
		if t == anyType {
			return planAny
		}
	}
	return planDefault
}

// mustPlan panics if values of t are not decoded as want by json v2.
func mustPlan(fn string, t reflect.Type, want plan) {
	if planFor(t) == want {
		return
	}
	why := "has unmarshal methods, which json v2 calls instead"
	if !hasUnmarshalMethods(t) && t.Kind() == reflect.Slice {
		why = "is decoded from base64 by json v2, not as an array"
	}
	panic(fmt.Errorf("slab: slabjson.%s[%s]: %s %s", fn, t, t, why))
}

// Pointer returns the Hook of *T: a nil *T about to receive a JSON value
// other than null gets a zeroed T in the scope, which json v2 then fills.
func Pointer[T any]() Hook {
	return Hook{typ: reflect.TypeFor[*T](), kind: planPointer, bind: bindPointer[T]}
}

// Slice returns the Hook of []E: a JSON array decoded into a []E gets its
// backing array in the scope, grown there as elements are decoded. A
// named slice type needs NamedSlice.
//
// Slice panics if E is a byte type (json v2 decodes []byte from base64).
func Slice[E any]() Hook { return NamedSlice[[]E]() }

// NamedSlice returns the Hook of the slice type S, named or not, as Slice
// does for []E.
//
// NamedSlice panics if the elements of S are bytes or S has unmarshal
// methods (json v2 decodes such types itself).
func NamedSlice[S ~[]E, E any]() Hook {
	t := reflect.TypeFor[S]()
	mustPlan("NamedSlice", t, planSlice)
	return Hook{typ: t, kind: planSlice, bind: bindSlice[S]}
}

// String returns the Hook of the named string type S: its values' bytes
// are placed in the scope, as those of plain strings always are.
//
// String panics if S has unmarshal methods, which json v2 calls instead.
func String[S ~string]() Hook {
	t := reflect.TypeFor[S]()
	mustPlan("String", t, planString)
	return Hook{typ: t, kind: planString, bind: bindString[S]}
}

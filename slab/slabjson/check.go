package slabjson

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
)

// Check walks the Go type of v (what Unmarshal would be given: a pointer,
// or a value of the type) as Unmarshal decodes it, and returns an error
// that names each type whose values json v2 decodes on the heap instead of
// Unmarshal in the scope, and why, or nil if there are none. A test keeps a
// program's types free of them, or knows which remain:
//
//	require.NoError(t, slabjson.Check(&BidRequest{}))
//
// Those types are decoded right, by json v2, only not into the scope: types
// with unmarshal methods (time.Time among them), interfaces, byte slices
// (base64), maps with keys other than strings, structs that embed other
// structs or whose fields have tag options that change decoding (string,
// case, inline, unknown, format). Types are written as a program outside
// their package writes them, qualified by package name, but for package
// main's, which are written unqualified.
func Check(v any) error {
	t := reflect.TypeOf(v)
	if t == nil {
		return errors.New("slab: slabjson: Check of a nil interface: pass what Unmarshal would decode into")
	}
	root := t
	if t.Kind() == reflect.Pointer {
		t = t.Elem() // the pointer Unmarshal is given is never allocated
	}
	var lines []string
	seen := make(map[*plan]bool)
	var walk func(p *plan)
	walk = func(p *plan) {
		if seen[p] {
			return
		}
		seen[p] = true
		if p.kind == kindFallback {
			lines = append(lines, fmt.Sprintf("%s: %s", typeName(p.typ), p.why))
			return
		}
		if p.elem != nil {
			walk(p.elem)
		}
		for _, f := range p.fields {
			walk(f.plan)
		}
	}
	walk(planOf(t))
	if len(lines) == 0 {
		return nil
	}
	return fmt.Errorf("slab: slabjson: %d types reachable from %s are decoded by json v2 on the heap:\n\t%s",
		len(lines), typeName(root), strings.Join(lines, "\n\t"))
}

// typeName writes t as Go source outside t's package: qualified by the
// package name, with the type arguments of a generic type qualified by
// the last element of their package path (reflect gives the whole path).
func typeName(t reflect.Type) string {
	if t.Name() != "" {
		if t.PkgPath() == "" {
			return t.Name() // predeclared
		}
		pkg, _, _ := strings.Cut(t.String(), ".")
		name := qualified.ReplaceAllString(t.Name(), "$1.")
		name = strings.ReplaceAll(name, ",", ", ") // gofmt's spacing of type arguments
		if pkg == "main" {
			return name
		}
		return pkg + "." + name
	}
	switch t.Kind() {
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return "any"
		}
	case reflect.Pointer:
		return "*" + typeName(t.Elem())
	case reflect.Slice:
		return "[]" + typeName(t.Elem())
	case reflect.Array:
		return fmt.Sprintf("[%d]%s", t.Len(), typeName(t.Elem()))
	case reflect.Map:
		return "map[" + typeName(t.Key()) + "]" + typeName(t.Elem())
	}
	return qualified.ReplaceAllString(t.String(), "$1.")
}

// qualified matches the import path before a package's last element, and
// that element, in a type's string: "example.com/x/pkg." in
// "G[example.com/x/pkg.T]".
var qualified = regexp.MustCompile(`[\w.~-]*(?:/[\w.~-]+)*/([\w~-]+)\.`)

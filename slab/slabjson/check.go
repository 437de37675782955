package slabjson

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
)

// Check walks the Go type of v (what Unmarshal would be given: a pointer,
// or a value of the type) as json v2 decodes it, and returns an error that
// lists, as Go source to paste into NewDecoder, the hooks missing for the
// pointer, slice and named string types it finds, or nil if there are
// none. A test keeps the list of a program's hooks complete:
//
//	require.NoError(t, dec.Check(&BidRequest{}))
//
// Without its hook a type is still decoded, by json v2 on the heap. Check
// does not descend into what json v2 does not decode by reflection (types
// with unmarshal methods, interfaces, byte slices), nor list what no hook
// can reach: embedded pointers, which json v2 allocates itself, and named
// pointer types. The error also names each string field with the
// `string` tag option, which json v2 rejects for strings: the hook of
// strings does not see field tags, so it would decode that field where
// json v2 reports an error.
//
// Types are written as a program outside their package writes them,
// qualified by package name, but for package main's, which are written
// unqualified; the type arguments of generic types are qualified by the
// last element of their import path.
func (d *Decoder) Check(v any) error {
	t := reflect.TypeOf(v)
	if t == nil {
		return errors.New("slab: slabjson: Check of a nil interface: pass what Unmarshal would decode into")
	}
	root := t
	if t.Kind() == reflect.Pointer {
		t = t.Elem() // the pointer Unmarshal is given is never allocated
	}
	c := checker{d: d, seen: make(map[reflect.Type]bool)}
	c.walk(t)
	if len(c.hooks) == 0 && len(c.tags) == 0 {
		return nil
	}
	var b strings.Builder
	switch {
	case len(c.hooks) > 0:
		fmt.Fprintf(&b, "slab: slabjson: %d hooks missing for %s; add them to NewDecoder:", len(c.hooks), typeName(root))
	default:
		fmt.Fprintf(&b, "slab: slabjson: fields of %s have tag options that the hooks ignore:", typeName(root))
	}
	for _, h := range c.hooks {
		b.WriteString("\n\t" + h)
	}
	for _, tag := range c.tags {
		b.WriteString("\n\t// " + tag)
	}
	return errors.New(b.String())
}

// checker is the state of one Check.
type checker struct {
	d     *Decoder
	seen  map[reflect.Type]bool
	hooks []string // lines of Go source, in the order the types were found
	tags  []string // fields whose tag options the hooks ignore
}

// hooked reports whether the Decoder places values of t in the scope.
func (c *checker) hooked(t reflect.Type) bool {
	if c.d.generic || t == stringType {
		return true
	}
	_, ok := c.d.hooked[t]
	return ok
}

func (c *checker) walk(t reflect.Type) {
	if c.seen[t] {
		return
	}
	c.seen[t] = true
	if hasUnmarshalMethods(t) {
		return // json v2 calls the methods
	}
	switch t.Kind() {
	case reflect.Pointer:
		if t.Name() == "" && !c.hooked(t) {
			c.hooks = append(c.hooks, "slabjson.Pointer["+typeName(t.Elem())+"](),")
		}
		c.walk(t.Elem())
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return // base64
		}
		if !c.hooked(t) {
			if t.Name() == "" {
				c.hooks = append(c.hooks, "slabjson.Slice["+typeName(t.Elem())+"](),")
			} else {
				c.hooks = append(c.hooks, "slabjson.NamedSlice["+typeName(t)+"](),")
			}
		}
		c.walk(t.Elem())
	case reflect.Array:
		if t.Elem().Kind() != reflect.Uint8 {
			c.walk(t.Elem())
		}
	case reflect.Map:
		c.walk(t.Key())
		c.walk(t.Elem())
	case reflect.String:
		if !c.hooked(t) {
			c.hooks = append(c.hooks, "slabjson.String["+typeName(t)+"](),")
		}
	case reflect.Struct:
		c.walkFields(t)
	}
}

// walkFields walks the fields of struct type t that json v2 decodes
// (fields.go, makeStructFields): exported ones, and embedded structs,
// whose fields json v2 inlines, unless a tag names them or is "-".
func (c *checker) walkFields(t reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts := splitTag(tag)
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer && ft.Name() == "" {
				ft = ft.Elem() // allocated by json v2 itself, not through a hook
			}
			if ft.Kind() == reflect.Struct {
				c.walk(ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		c.checkTag(t, f, opts)
		c.walk(f.Type)
	}
}

// checkTag notes a field of t of a hooked string type (or a pointer to
// one) with the `string` tag option, which json v2 rejects for strings:
// the hook does not see tags, and decodes the field. (Slices are decoded
// by json v2's own function, which sees them; json v2 rejects `format`
// options for a whole struct, before any hook runs.)
func (c *checker) checkTag(t reflect.Type, f reflect.StructField, opts []string) {
	ft := f.Type
	for ft.Kind() == reflect.Pointer && ft.Name() == "" {
		ft = ft.Elem()
	}
	if !c.hooked(ft) || planFor(ft) != planString {
		return
	}
	for _, o := range opts {
		if o == "string" {
			c.tags = append(c.tags, fmt.Sprintf("field %s.%s: json v2 rejects the `string` tag option on %s, which the hook decodes: remove the option",
				typeName(t), f.Name, typeName(ft)))
		}
	}
}

// splitTag splits a json tag into the field's name and its options. A name
// may be quoted with single quotes (json v2's syntax for names with
// commas).
func splitTag(tag string) (name string, opts []string) {
	if strings.HasPrefix(tag, "'") {
		for i := 1; i < len(tag); i++ {
			switch tag[i] {
			case '\\':
				i++
			case '\'':
				name, tag = tag[:i+1], tag[i+1:]
				i = len(tag) + 1
			}
		}
		tag = strings.TrimPrefix(tag, ",")
	} else {
		name, tag, _ = strings.Cut(tag, ",")
		if tag == "" {
			return name, nil
		}
	}
	for o := range strings.SplitSeq(tag, ",") {
		if o = strings.TrimSpace(o); o != "" {
			opts = append(opts, o)
		}
	}
	return name, opts
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

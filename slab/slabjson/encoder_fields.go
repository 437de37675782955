package slabjson

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// fieldSpec is a struct field that a library writes, as its rules find it.
type fieldSpec struct {
	name      string
	index     []int // as reflect.Type.FieldByIndex takes it
	typ       reflect.Type
	hasName   bool // named by its tag
	omitEmpty bool
	omitZero  bool
	quoted    bool // the `string` option applies
}

// fieldsV2 returns the fields of struct type t that json v2 writes, in its
// order, by its rules (the breadth-first search of embedded structs, and
// the dominant field of each name). It reports false for what it leaves
// to json v2 itself: tags with options other than omitempty, omitzero and
// string, a `string` option on other than numbers, quoted or invalid
// names, embedded maps and jsontext.Values, and whatever json v2 rejects
// (conflicting names in one struct, tagged unexported fields, embedded
// types with methods, structs with fields but none to write and no tags).
func fieldsV2(root reflect.Type) ([]fieldSpec, bool) {
	type entry struct {
		typ   reflect.Type
		index []int
		visit bool // whether to follow its embedded structs
	}
	queue := []entry{{root, nil, true}}
	seen := map[reflect.Type]bool{root: true}
	var all []fieldSpec
	for qi := 0; qi < len(queue); qi++ {
		qe := queue[qi]
		t := qe.typ
		names := make(map[string]bool)
		var hasTag, hasField bool
		for i := range t.NumField() {
			sf := t.Field(i)
			tag, tagged := sf.Tag.Lookup("json")
			hasTag = hasTag || tagged
			if tag == "-" {
				continue
			}
			if !sf.IsExported() && !sf.Anonymous {
				if tagged {
					return nil, false // json v2: an unexported field cannot have a tag
				}
				continue
			}
			f, ok := parseTagV2(sf, tag)
			if !ok {
				return nil, false
			}
			hasField = true
			f.index = append(slices.Clip(qe.index), i)
			if sf.Anonymous && !f.hasName {
				tf := sf.Type
				if tf.Kind() == reflect.Pointer && tf.Name() == "" {
					tf = tf.Elem()
				}
				if tf.Kind() != reflect.Struct || f.omitEmpty || f.omitZero || f.quoted || implementsAny(tf, encMethodTypesV2...) {
					return nil, false // an embedded map or Value, or what json v2 rejects
				}
				if qe.visit {
					queue = append(queue, entry{tf, f.index, !seen[tf]})
				}
				seen[tf] = true
				continue
			}
			if !sf.IsExported() {
				tf := sf.Type
				if tf.Kind() == reflect.Pointer && tf.Name() == "" {
					tf = tf.Elem()
				}
				if !(sf.Anonymous && tf.Kind() == reflect.Struct) || implementsAny(tf, encMethodTypesV2...) || f.omitZero && implementsAny(tf, encIsZeroerType) {
					return nil, false
				}
			}
			if names[f.name] {
				return nil, false // json v2: fields conflict over a name
			}
			names[f.name] = true
			if f.quoted && !quotableV2(sf.Type) {
				return nil, false
			}
			all = append(all, f)
		}
		if t.NumField() > 0 && !hasTag && !hasField {
			return nil, false // json v2: a struct with no field to write
		}
	}
	// The dominant field of a name: the only one at the shallowest depth,
	// or the only one named by its tag there.
	slices.SortStableFunc(all, func(x, y fieldSpec) int {
		return cmp.Or(strings.Compare(x.name, y.name), cmp.Compare(len(x.index), len(y.index)), cmpBool(!x.hasName, !y.hasName))
	})
	out := all[:0]
	for len(all) > 0 {
		n := 1
		for n < len(all) && all[n].name == all[0].name {
			n++
		}
		if n == 1 || len(all[0].index) != len(all[1].index) || all[0].hasName != all[1].hasName {
			out = append(out, all[0])
		}
		all = all[n:]
	}
	slices.SortFunc(out, func(x, y fieldSpec) int { return slices.Compare(x.index, y.index) })
	return out, true
}

func cmpBool(x, y bool) int {
	switch {
	case x == y:
		return 0
	case !x:
		return -1
	}
	return +1
}

// quotableV2 reports whether json v2 writes a t tagged `string` as quoted
// numbers: t is a number, or a pointer to one, without methods.
func quotableV2(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	k := t.Kind()
	return k >= reflect.Int && k <= reflect.Float64 && t != encDurationType && !implementsAny(t, encMarshalerTypesV2...)
}

// parseTagV2 reads the part of json v2's tag grammar that the compiled
// encoders take: a name of any characters but the reserved ones (, \ ' "
// and `) and the options omitempty, omitzero and string, each once.
func parseTagV2(sf reflect.StructField, tag string) (fieldSpec, bool) {
	f := fieldSpec{name: sf.Name, typ: sf.Type}
	if tag != "" && tag[0] != ',' {
		n := strings.IndexAny(tag, ",\\'\"`")
		if n < 0 {
			n = len(tag)
		}
		if n < len(tag) && tag[n] != ',' || !utf8.ValidString(tag[:n]) {
			return f, false
		}
		f.name, f.hasName = tag[:n], true
		tag = tag[n:]
	}
	for tag != "" {
		tag = tag[1:] // the comma
		opt := tag
		if i := strings.IndexByte(tag, ','); i >= 0 {
			opt = tag[:i]
		}
		tag = tag[len(opt):]
		switch {
		case opt == "omitempty" && !f.omitEmpty:
			f.omitEmpty = true
		case opt == "omitzero" && !f.omitZero:
			f.omitZero = true
		case opt == "string" && !f.quoted:
			f.quoted = true
		default:
			return f, false
		}
	}
	return f, true
}

// fieldsV1 returns the fields of struct type t that encoding/json writes,
// in its order, by its rules (typeFields in its encode.go, which this
// follows step by step).
func fieldsV1(t reflect.Type) []fieldSpec {
	type level struct {
		typ   reflect.Type
		index []int
	}
	var current []level
	next := []level{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := make(map[reflect.Type]bool)
	var fields []fieldSpec
	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, make(map[reflect.Type]int)
		for _, f := range current {
			if visited[f.typ] {
				continue
			}
			visited[f.typ] = true
			for i := range f.typ.NumField() {
				sf := f.typ.Field(i)
				if sf.Anonymous {
					t := sf.Type
					if t.Kind() == reflect.Pointer {
						t = t.Elem()
					}
					if !sf.IsExported() && t.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !isValidTagV1(name) {
					name = ""
				}
				index := append(slices.Clip(f.index), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				quoted := hasOptionV1(opts, "string") && isScalar(ft.Kind())
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					tagged := name != ""
					if name == "" {
						name = sf.Name
					}
					field := fieldSpec{
						name:      name,
						hasName:   tagged,
						index:     index,
						typ:       sf.Type,
						omitEmpty: hasOptionV1(opts, "omitempty"),
						omitZero:  hasOptionV1(opts, "omitzero"),
						quoted:    quoted,
					}
					fields = append(fields, field)
					if count[f.typ] > 1 {
						// Two copies of the field at one depth annihilate
						// each other below.
						fields = append(fields, fields[len(fields)-1])
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, level{ft, index})
				}
			}
		}
	}
	slices.SortFunc(fields, func(a, b fieldSpec) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.index), len(b.index)); c != 0 {
			return c
		}
		if a.hasName != b.hasName {
			if a.hasName {
				return -1
			}
			return +1
		}
		return slices.Compare(a.index, b.index)
	})
	out := fields[:0]
	for advance, i := 0, 0; i < len(fields); i += advance {
		fi := fields[i]
		for advance = 1; i+advance < len(fields); advance++ {
			if fields[i+advance].name != fi.name {
				break
			}
		}
		if advance == 1 || len(fields[i].index) != len(fields[i+1].index) || fields[i].hasName != fields[i+1].hasName {
			out = append(out, fi)
		}
	}
	slices.SortFunc(out, func(a, b fieldSpec) int { return slices.Compare(a.index, b.index) })
	return out
}

// isValidTagV1 reports whether encoding/json takes s as a field's name.
func isValidTagV1(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// hasOptionV1 reports whether the comma-separated opts has opt.
func hasOptionV1(opts, opt string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == opt {
			return true
		}
	}
	return false
}

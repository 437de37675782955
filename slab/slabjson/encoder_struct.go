package slabjson

import (
	"reflect"
	"strconv"
	"unsafe"
)

// encField is a field as its struct's compiled encoder writes it.
type encField struct {
	// name is `,"name":`, quoted and escaped for the mode; the comma of
	// the first member is overwritten by the object's {. name16 holds it
	// too, if it fits, to be written with one 16-byte store.
	name   string
	name16 [16]byte
	// hops are the offsets of the embedded struct pointers on the way to
	// the field, each from the struct the previous one points to; a nil
	// one leaves the field out. off is the field's offset from the last.
	hops []uintptr
	off  uintptr
	kind encFieldKind
	size uintptr // of the number kinds
	te   *typeEncoder
	esc  int
	// skip, if not nil, reports whether the field is left out before it is
	// written (omitzero, and omitempty where it is known beforehand);
	// unwriteEmpty leaves it out after, if its JSON is null, "", {} or []
	// (json v2's omitempty).
	skip         func(p unsafe.Pointer) bool
	unwriteEmpty bool
}

// encFieldKind selects the fields written without calling their type's
// encoder.
type encFieldKind uint8

const (
	fieldOther encFieldKind = iota
	fieldString
	fieldBool
	fieldInt
	fieldUint
	fieldFloat64
	fieldPointer // te is the encoder of what it points to
)

// structEncoder compiles a struct: a JSON object of the fields that the
// mode's rules find.
func (c *encCompiler) structEncoder(t reflect.Type, m encMode) (encodeFunc, bool) {
	var specs []fieldSpec
	if m&modeV1 != 0 {
		specs = fieldsV1(t)
	} else {
		var ok bool
		if specs, ok = fieldsV2(t); !ok {
			return fallbackEncoder(t, m), true
		}
	}
	fields := make([]encField, len(specs))
	for i, s := range specs {
		f := &fields[i]
		fm := m &^ modeQuoted
		// Walk to the field: through embedded struct pointers, which
		// encoding/json follows as addressable.
		st := t
		for j, x := range s.index {
			sf := st.Field(x)
			f.off += sf.Offset
			if j < len(s.index)-1 {
				st = sf.Type
				if st.Kind() == reflect.Pointer {
					f.hops = append(f.hops, f.off)
					f.off = 0
					st = st.Elem()
					fm &^= modeNoAddr
				}
			}
		}
		if s.quoted {
			fm |= modeQuoted
		}
		f.te = c.encoder(s.typ, fm)
		f.esc = m.escape()
		name, _ := appendString([]byte{','}, s.name, m.escape())
		f.name = string(append(name, ':'))
		copy(f.name16[:], f.name)
		f.kind = kindOf(s.typ, f.te, fm)
		if f.kind == fieldInt || f.kind == fieldUint {
			f.size = s.typ.Size()
		}
		if f.kind == fieldPointer {
			f.te = c.encoder(s.typ.Elem(), fm&^modeNoAddr)
		}
		f.skip = c.skipFunc(s, f.te.fallback && f.kind != fieldPointer, m&modeV1 != 0)
		f.unwriteEmpty = s.omitEmpty && m&modeV1 == 0
	}
	return func(st *encodeState, b []byte, p unsafe.Pointer) ([]byte, error) {
		return encodeStruct(st, b, p, fields)
	}, false
}

// kindOf returns the kind of field that a t in mode m is.
func kindOf(t reflect.Type, te *typeEncoder, m encMode) encFieldKind {
	if te.fallback || m&modeQuoted != 0 {
		return fieldOther
	}
	switch t.Kind() {
	case reflect.String:
		if m&modeV1 != 0 && t == encNumberType {
			return fieldOther
		}
		return fieldString
	case reflect.Bool:
		return fieldBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fieldInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return fieldUint
	case reflect.Float64:
		return fieldFloat64
	case reflect.Pointer:
		return fieldPointer
	}
	return fieldOther
}

func encodeStruct(st *encodeState, b []byte, p unsafe.Pointer, fields []encField) ([]byte, error) {
	start := len(b)
fields:
	for i := range fields {
		f := &fields[i]
		fp := p
		if len(f.hops) > 0 {
			for _, h := range f.hops {
				if fp = *(*unsafe.Pointer)(unsafe.Add(fp, h)); fp == nil {
					continue fields
				}
			}
		}
		fp = unsafe.Add(fp, f.off)
		if f.skip != nil && f.skip(fp) {
			continue
		}
		mark := len(b)
		if n := len(f.name); n <= len(f.name16) && cap(b)-mark >= len(f.name16) {
			// Most names are short: one store past the end of b, within its
			// capacity, instead of a call of memmove.
			*(*[16]byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), mark)) = f.name16
			b = b[:mark+n]
		} else {
			b = append(b, f.name...)
		}
		value := len(b)
		switch f.kind {
		case fieldString:
			var ok bool
			if b, ok = appendString(b, *(*string)(fp), f.esc); !ok {
				return b, errFallback
			}
		case fieldBool:
			if *(*bool)(fp) {
				b = append(b, "true"...)
			} else {
				b = append(b, "false"...)
			}
		case fieldInt:
			b = strconv.AppendInt(b, loadInt(fp, f.size), 10)
		case fieldUint:
			b = strconv.AppendUint(b, loadUint(fp, f.size), 10)
		case fieldFloat64:
			var ok bool
			if b, ok = appendFloat(b, *(*float64)(fp), 64); !ok {
				return b, errFallback
			}
		case fieldPointer:
			q := *(*unsafe.Pointer)(fp)
			if q == nil {
				b = append(b, "null"...)
				break
			}
			if st.depth++; st.depth > maxEncodeDepth {
				return b, errFallback
			}
			var err error
			if b, err = f.te.fn(st, b, q); err != nil {
				return b, err
			}
			st.depth--
		default:
			var err error
			if b, err = f.te.fn(st, b, fp); err != nil {
				return b, err
			}
		}
		if f.unwriteEmpty && isEmptyJSON(b[value:]) {
			b = b[:mark]
		}
	}
	if len(b) == start {
		return append(b, "{}"...), nil
	}
	b[start] = '{' // over the first member's comma
	return append(b, '}'), nil
}

// isEmptyJSON reports whether v is a value that json v2's omitempty
// leaves out.
func isEmptyJSON(v []byte) bool {
	switch string(v) {
	case "null", `""`, "{}", "[]":
		return true
	}
	return false
}

// skipFunc returns the function that reports whether field s is left out
// before it is written, or nil if it never is: omitzero, and omitempty
// where the library knows the answer without writing the value
// (encoding/json always does; json v2 for the kinds whose emptiness is
// their length or nil, unless methods write them).
func (c *encCompiler) skipFunc(s fieldSpec, methods, v1 bool) func(unsafe.Pointer) bool {
	var zero, empty func(unsafe.Pointer) bool
	if s.omitZero {
		zero = isZeroFunc(s.typ)
	}
	if s.omitEmpty && (v1 || !methods) {
		empty = isEmptyFunc(s.typ, v1)
	}
	switch {
	case zero == nil:
		return empty
	case empty == nil:
		return zero
	}
	return func(p unsafe.Pointer) bool { return zero(p) || empty(p) }
}

// isEmptyFunc returns encoding/json's omitempty test of a t (v1), or json
// v2's for the kinds where length or nil decides, or nil.
func isEmptyFunc(t reflect.Type, v1 bool) func(unsafe.Pointer) bool {
	switch t.Kind() {
	case reflect.String:
		return func(p unsafe.Pointer) bool { return len(*(*string)(p)) == 0 }
	case reflect.Slice:
		return func(p unsafe.Pointer) bool { return (*sliceWords)(p).len == 0 }
	case reflect.Map:
		return func(p unsafe.Pointer) bool { return reflect.NewAt(t, p).Elem().Len() == 0 }
	case reflect.Array:
		n := t.Len()
		return func(unsafe.Pointer) bool { return n == 0 }
	case reflect.Pointer:
		return func(p unsafe.Pointer) bool { return *(*unsafe.Pointer)(p) == nil }
	case reflect.Interface:
		return func(p unsafe.Pointer) bool { return (*emptyIface)(p).typ == nil }
	}
	if !v1 {
		return nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(p unsafe.Pointer) bool { return !*(*bool)(p) }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		size := t.Size()
		return func(p unsafe.Pointer) bool { return loadInt(p, size) == 0 }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		size := t.Size()
		return func(p unsafe.Pointer) bool { return loadUint(p, size) == 0 }
	case reflect.Float32, reflect.Float64:
		bits := t.Bits()
		return func(p unsafe.Pointer) bool { return loadFloat(p, bits) == 0 } // -0 too
	}
	return nil
}

// isZeroFunc returns omitzero's test of a t, the same in both libraries:
// its IsZero method if it has one (not called on a nil pointer or
// interface, which are zero), else reflect.Value.IsZero.
func isZeroFunc(t reflect.Type) func(unsafe.Pointer) bool {
	type isZeroer = interface{ IsZero() bool }
	switch {
	case t.Kind() == reflect.Interface && t.Implements(encIsZeroerType):
		return func(p unsafe.Pointer) bool {
			v := reflect.NewAt(t, p).Elem()
			if v.IsNil() || v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil() {
				return true
			}
			return v.Interface().(isZeroer).IsZero()
		}
	case t.Kind() == reflect.Pointer && t.Implements(encIsZeroerType):
		return func(p unsafe.Pointer) bool {
			v := reflect.NewAt(t, p).Elem()
			return v.IsNil() || v.Interface().(isZeroer).IsZero()
		}
	case t.Implements(encIsZeroerType), reflect.PointerTo(t).Implements(encIsZeroerType):
		return func(p unsafe.Pointer) bool { return reflect.NewAt(t, p).Interface().(isZeroer).IsZero() }
	}
	switch t.Kind() {
	case reflect.String:
		return func(p unsafe.Pointer) bool { return len(*(*string)(p)) == 0 }
	case reflect.Pointer, reflect.Map:
		return func(p unsafe.Pointer) bool { return *(*unsafe.Pointer)(p) == nil }
	case reflect.Slice:
		return func(p unsafe.Pointer) bool { return (*sliceWords)(p).data == nil }
	case reflect.Interface:
		return func(p unsafe.Pointer) bool { return (*emptyIface)(p).typ == nil }
	}
	return func(p unsafe.Pointer) bool { return reflect.NewAt(t, p).Elem().IsZero() }
}

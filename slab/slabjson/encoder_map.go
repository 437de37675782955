package slabjson

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unsafe"
)

// keyKind is how a map's keys are written.
type keyKind uint8

const (
	keyString keyKind = iota
	keyInt
	keyUint
)

// mapEncoder compiles a map: a JSON object of its entries, keys of string
// or integer kinds written as strings; other keys, and keys with methods
// that the library would call, are left to it. json v2 writes the
// entries in the map's order and a nil map as {}; encoding/json sorts them
// by key and writes a nil map as null.
func (c *encCompiler) mapEncoder(t reflect.Type, m encMode) (encodeFunc, bool) {
	v1 := m&modeV1 != 0
	kt := t.Key()
	var kk keyKind
	switch kt.Kind() {
	case reflect.String:
		kk = keyString
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		kk = keyInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		kk = keyUint
	default:
		return fallbackEncoder(t, m), true
	}
	// encoding/json writes keys of string kind as they are, and calls the
	// MarshalText of a key of another kind (a map key is not addressable);
	// json v2 calls the methods of any key.
	if v1 && kk != keyString && kt.Implements(encTextMarshalerType) ||
		!v1 && (implementsAny(kt, encMarshalerTypesV2...) || kt == encDurationType) {
		return fallbackEncoder(t, m), true
	}
	em := m &^ modeQuoted
	if v1 {
		em |= modeNoAddr
	}
	elem := c.encoder(t.Elem(), em)
	esc := m.escape()
	sorted := v1 || m&modeSorted != 0
	nilJSON := "{}"
	if v1 {
		nilJSON = "null"
	}
	return func(st *encodeState, b []byte, p unsafe.Pointer) ([]byte, error) {
		if *(*unsafe.Pointer)(p) == nil {
			return append(b, nilJSON...), nil
		}
		v := reflect.NewAt(t, p).Elem()
		n := v.Len()
		if n == 0 {
			return append(b, "{}"...), nil
		}
		if st.depth++; st.depth > maxEncodeDepth {
			return b, errFallback
		}
		ms := st.maps.get(t)
		var err error
		if sorted {
			b, err = ms.sortedEntries(st, b, v, n, kk, esc, elem)
		} else {
			b, err = ms.entries(st, b, v, kk, esc, elem)
		}
		st.maps.put(t, ms)
		st.depth--
		return b, err
	}, false
}

// mapScratch is where the entries of a map of one type are copied while
// it is written: reflect gives map entries by copy only.
type mapScratch struct {
	iter     reflect.MapIter
	key, val reflect.Value // addressable
	keyPtr   unsafe.Pointer
	valPtr   unsafe.Pointer

	// For sorted maps: the values, the keys and their order.
	vals   reflect.Value // a slice
	sorted []sortedEntry
	digits []byte // the text of integer keys
	ends   []int  // of each integer key's text in digits
}

type sortedEntry struct {
	key string
	i   int // in vals
}

// mapStates holds an encoding state's map scratches, by map type: one
// per map of the type being written (a map may hold maps of its type).
type mapStates map[reflect.Type][]*mapScratch

func (ms *mapStates) get(t reflect.Type) *mapScratch {
	if *ms == nil {
		*ms = make(mapStates)
	}
	free := (*ms)[t]
	if len(free) > 0 {
		s := free[len(free)-1]
		(*ms)[t] = free[:len(free)-1]
		return s
	}
	s := &mapScratch{key: reflect.New(t.Key()).Elem(), val: reflect.New(t.Elem()).Elem()}
	s.keyPtr = s.key.Addr().UnsafePointer()
	s.valPtr = s.val.Addr().UnsafePointer()
	return s
}

func (ms *mapStates) put(t reflect.Type, s *mapScratch) {
	// Drop what the scratch points to: the state is pooled.
	s.iter.Reset(reflect.Value{})
	s.key.SetZero()
	s.val.SetZero()
	(*ms)[t] = append((*ms)[t], s)
}

// appendKey appends the map key at p as a JSON string.
func appendKey(b []byte, p unsafe.Pointer, kk keyKind, size uintptr, esc int) ([]byte, bool) {
	switch kk {
	case keyInt:
		b = append(b, '"')
		b = strconv.AppendInt(b, loadInt(p, size), 10)
		return append(b, '"'), true
	case keyUint:
		b = append(b, '"')
		b = strconv.AppendUint(b, loadUint(p, size), 10)
		return append(b, '"'), true
	}
	return appendString(b, *(*string)(p), esc)
}

// entries appends the entries of v in the map's order.
func (s *mapScratch) entries(st *encodeState, b []byte, v reflect.Value, kk keyKind, esc int, elem *typeEncoder) ([]byte, error) {
	size := s.key.Type().Size()
	s.iter.Reset(v)
	b = append(b, '{')
	for i := 0; s.iter.Next(); i++ {
		if i > 0 {
			b = append(b, ',')
		}
		s.key.SetIterKey(&s.iter)
		var ok bool
		if b, ok = appendKey(b, s.keyPtr, kk, size, esc); !ok {
			return b, errFallback
		}
		b = append(b, ':')
		s.val.SetIterValue(&s.iter)
		var err error
		if b, err = elem.fn(st, b, s.valPtr); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// sortedEntries appends the n entries of v sorted by their keys' text, as
// encoding/json does, and json v2 with its Deterministic option.
func (s *mapScratch) sortedEntries(st *encodeState, b []byte, v reflect.Value, n int, kk keyKind, esc int, elem *typeEncoder) ([]byte, error) {
	if !s.vals.IsValid() || s.vals.Len() < n {
		s.vals = reflect.MakeSlice(reflect.SliceOf(v.Type().Elem()), n, n)
	}
	size := s.key.Type().Size()
	s.sorted = s.sorted[:0]
	s.digits = s.digits[:0]
	s.ends = s.ends[:0]
	s.iter.Reset(v)
	for i := 0; s.iter.Next() && i < n; i++ {
		s.vals.Index(i).SetIterValue(&s.iter)
		s.key.SetIterKey(&s.iter)
		switch kk {
		case keyString:
			s.sorted = append(s.sorted, sortedEntry{key: s.key.String(), i: i})
		case keyInt:
			s.digits = strconv.AppendInt(s.digits, loadInt(s.keyPtr, size), 10)
			s.ends = append(s.ends, len(s.digits))
			s.sorted = append(s.sorted, sortedEntry{i: i})
		case keyUint:
			s.digits = strconv.AppendUint(s.digits, loadUint(s.keyPtr, size), 10)
			s.ends = append(s.ends, len(s.digits))
			s.sorted = append(s.sorted, sortedEntry{i: i})
		}
	}
	if kk != keyString {
		// The digits no longer move: the keys can point into them.
		start := 0
		for j, end := range s.ends {
			s.sorted[j].key = unsafe.String(unsafe.SliceData(s.digits[start:end]), end-start)
			start = end
		}
	}
	slices.SortFunc(s.sorted, func(x, y sortedEntry) int { return strings.Compare(x.key, y.key) })
	vals := s.vals.UnsafePointer()
	vsize := v.Type().Elem().Size()
	b = append(b, '{')
	var err error
	for j, e := range s.sorted {
		if j > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = appendString(b, e.key, esc); !ok {
			err = errFallback
			break
		}
		b = append(b, ':')
		if b, err = elem.fn(st, b, unsafe.Add(vals, uintptr(e.i)*vsize)); err != nil {
			break
		}
	}
	for j := range s.sorted {
		s.vals.Index(j).SetZero()
		s.sorted[j] = sortedEntry{}
	}
	if err != nil {
		return b, err
	}
	return append(b, '}'), nil
}

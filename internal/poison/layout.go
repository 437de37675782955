package poison

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/fault"
)

// A Layout describes how a type is poisoned: where its reference words and
// its scalar bytes are, and which window of a fault cell each reference word
// points into.
type Layout struct {
	typ  reflect.Type
	size uintptr
	// runs are the scalar byte ranges, in order and merged. Bytes outside
	// them belong to reference words and to the headers around them
	// (slice lengths, string lengths, interface type words).
	runs []run
	// image is a poisoned object's scalar bytes (the bytes outside runs
	// are unused): 0x6b, and signalling NaNs in floating-point fields.
	image []byte
	// leaves are the scalar fields, by offset: each number, bool or
	// array without references (counted as one); padding is in none.
	leaves []run
	// refs are the reference words, by offset.
	refs []ref
	// byWindow lists indexes of refs by window start, for Access.
	byWindow []int
	// cellSize is the fault cell size the windows were laid out for; 0
	// without a fault region.
	cellSize uintptr
	fields   fault.FieldsID
}

type run struct{ off, n uintptr }

var (
	layouts   sync.Map   // reflect.Type -> *Layout, complete
	layoutsMu sync.Mutex // serialises building, so each type is registered once
)

// For returns the layout of t, building it on first use. Layouts are kept
// for the life of the process: one per type.
func For(t reflect.Type) *Layout {
	if l, ok := layouts.Load(t); ok {
		return l.(*Layout)
	}
	layoutsMu.Lock()
	defer layoutsMu.Unlock()
	if l, ok := layouts.Load(t); ok {
		return l.(*Layout)
	}
	l := build(t)
	l.fields = fault.RegisterFields(l)
	layouts.Store(t, l)
	return l
}

// New returns the layout of t; it is For.
func New(t reflect.Type) *Layout { return For(t) }

func build(t reflect.Type) *Layout {
	l := &Layout{typ: t, size: t.Size()}
	var hdrs []run // reference-holding ranges, in order
	l.walk(t, 0, "", &hdrs)
	at := uintptr(0)
	for _, h := range hdrs {
		if h.off > at {
			l.runs = append(l.runs, run{at, h.off - at})
		}
		at = max(at, h.off+h.n)
	}
	if at < l.size {
		l.runs = append(l.runs, run{at, l.size - at})
	}
	l.image = scalarImage(t)
	if len(l.refs) > 0 {
		l.layWindows(fault.CellSize())
	}
	return l
}

// walk appends the reference-holding ranges of a value of type t at off to
// hdrs, and its reference words to l.refs; name is the value's selector.
func (l *Layout) walk(t reflect.Type, off uintptr, name string, hdrs *[]run) {
	k, ok := refKindOf(t.Kind())
	if ok {
		*hdrs = append(*hdrs, run{off, t.Size()})
		r := ref{name: name, off: off, word: off, kind: k}
		switch k {
		case kindPointer, kindSlice:
			r.elem = t.Elem()
		case kindInterface:
			r.word = off + ptrSize // the data word; the type word stays
		}
		l.refs = append(l.refs, r)
		return
	}
	switch t.Kind() {
	case reflect.Array:
		if t.Len() == 0 || !hasPointers(t.Elem()) {
			if t.Size() > 0 {
				l.leaves = append(l.leaves, run{off, t.Size()})
			}
			return
		}
		es := t.Elem().Size()
		for i := range t.Len() {
			l.walk(t.Elem(), off+uintptr(i)*es, fmt.Sprintf("%s[%d]", name, i), hdrs)
		}
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			sel := f.Name
			if name != "" {
				sel = name + "." + f.Name
			}
			l.walk(f.Type, off+f.Offset, sel, hdrs)
		}
	default:
		if t.Size() > 0 {
			l.leaves = append(l.leaves, run{off, t.Size()})
		}
	}
}

func hasPointers(t reflect.Type) bool {
	if _, ok := refKindOf(t.Kind()); ok {
		return true
	}
	switch t.Kind() {
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// PointerFree reports whether values of t hold no pointer the garbage
// collector must see: no pointer, map, chan, func, slice, string or
// interface, at any depth. Only such types may live in memory the library
// maps itself (guard pages).
func PointerFree(t reflect.Type) bool { return !hasPointers(t) }

// TypeName returns the layout's type as reports print it, "*main.Order".
func (l *Layout) TypeName() string { return "*" + l.typ.String() }

// Type returns the layout's type.
func (l *Layout) Type() reflect.Type { return l.typ }

// Fields returns the layout's id in package fault's table of types.
func (l *Layout) Fields() fault.FieldsID { return l.fields }

// HasRefs reports whether the type has reference words: whether Poison
// takes a fault cell.
func (l *Layout) HasRefs() bool { return len(l.refs) > 0 }

// Field names the field of the layout's type that holds byte off, as a Go
// selector such as "Lines[2].Qty", and returns the field's byte range.
// Padding between fields is named "(padding after X)".
func (l *Layout) Field(off uintptr) (name string, from, to uintptr) {
	var path strings.Builder
	from, to = fieldAt(l.typ, off, 0, &path)
	return strings.TrimPrefix(path.String(), "."), from, to
}

func fieldAt(t reflect.Type, off, base uintptr, path *strings.Builder) (from, to uintptr) {
	switch t.Kind() {
	case reflect.Struct:
		prev := ""
		for i := range t.NumField() {
			f := t.Field(i)
			if off < f.Offset {
				break
			}
			if off < f.Offset+f.Type.Size() {
				path.WriteString("." + f.Name)
				return fieldAt(f.Type, off-f.Offset, base+f.Offset, path)
			}
			prev = f.Name
		}
		// In padding: name it after the field before it.
		if prev == "" {
			path.WriteString(".(padding)")
		} else {
			fmt.Fprintf(path, ".(padding after %s)", prev)
		}
		return base + off, base + off + 1
	case reflect.Array:
		if es := t.Elem().Size(); es > 0 {
			i := off / es
			fmt.Fprintf(path, "[%d]", i)
			return fieldAt(t.Elem(), off-i*es, base+i*es, path)
		}
	}
	return base, base + t.Size()
}

const ptrSize = unsafe.Sizeof(uintptr(0))

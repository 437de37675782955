package poison

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/slabtrack/slabtrack/internal/fault"
)

// Access describes a fault at offset off of a cell poisoned with this
// layout: the reference word whose window holds off, and what the program
// reached through it. It implements fault.Fields.
func (l *Layout) Access(off uintptr) fault.Access {
	if len(l.byWindow) == 0 {
		return fault.Access{}
	}
	// The last window starting at or below off.
	k := sort.Search(len(l.byWindow), func(k int) bool { return l.refs[l.byWindow[k]].win > off }) - 1
	r := &l.refs[l.byWindow[max(k, 0)]]
	rest := off - r.win
	return fault.Access{
		Field:  r.name,
		Shared: r.shared,
		Offset: r.off,
		Kind:   r.kind.String(),
		Target: r.target(rest),
	}
}

// target names what the program reached rest bytes past the word's
// address: "Customer.Name", "Items[37].Qty", "Name[3]".
func (r *ref) target(rest uintptr) string {
	switch r.kind {
	case kindPointer:
		if rest < r.elem.Size() {
			if sub := selector(r.elem, rest); sub != "" {
				return r.name + sub
			}
			if rest == 0 {
				return "*" + r.name
			}
		}
		return fmt.Sprintf("*%s (offset %d of %s)", r.name, rest, r.elem)
	case kindSlice:
		es := r.elem.Size()
		if es == 0 {
			return r.name
		}
		return fmt.Sprintf("%s[%d]%s", r.name, rest/es, selector(r.elem, rest%es))
	case kindString:
		return fmt.Sprintf("%s[%d]", r.name, rest)
	case kindMap:
		return fmt.Sprintf("%s (the map's header, offset %d)", r.name, rest)
	case kindChan:
		return fmt.Sprintf("%s (the channel's header, offset %d)", r.name, rest)
	case kindFunc:
		return fmt.Sprintf("%s (the function value, offset %d)", r.name, rest)
	case kindInterface:
		return fmt.Sprintf("%s (its dynamic value, offset %d)", r.name, rest)
	}
	return fmt.Sprintf("%s (offset %d)", r.name, rest)
}

// selector names the field of a value of type t holding byte off, as a
// selector suffix such as ".Name" or "[2].Qty"; "" for a value that is not
// a struct or an array.
func selector(t reflect.Type, off uintptr) string {
	if t.Kind() != reflect.Struct && t.Kind() != reflect.Array {
		return ""
	}
	var path strings.Builder
	fieldAt(t, off, 0, &path)
	return path.String()
}

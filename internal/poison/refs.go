package poison

import (
	"cmp"
	"reflect"
	"slices"
)

// A refKind is the kind of a reference word.
type refKind uint8

const (
	kindPointer refKind = iota
	kindUnsafePointer
	kindMap
	kindChan
	kindFunc
	kindSlice
	kindString
	kindInterface
)

var refKindNames = [...]string{
	kindPointer:       "pointer",
	kindUnsafePointer: "unsafe.Pointer",
	kindMap:           "map",
	kindChan:          "chan",
	kindFunc:          "func",
	kindSlice:         "slice",
	kindString:        "string",
	kindInterface:     "interface",
}

func (k refKind) String() string { return refKindNames[k] }

// refKindOf returns the kind of reference word a value of kind k holds, if any.
func refKindOf(k reflect.Kind) (refKind, bool) {
	switch k {
	case reflect.Pointer:
		return kindPointer, true
	case reflect.UnsafePointer:
		return kindUnsafePointer, true
	case reflect.Map:
		return kindMap, true
	case reflect.Chan:
		return kindChan, true
	case reflect.Func:
		return kindFunc, true
	case reflect.Slice:
		return kindSlice, true
	case reflect.String:
		return kindString, true
	case reflect.Interface:
		return kindInterface, true
	}
	return 0, false
}

// A ref is one reference word of a type.
type ref struct {
	name string  // the field's Go selector: "Items", "Lines[2].Next"
	off  uintptr // offset of the field (of its header, for slices, strings, interfaces)
	word uintptr // offset of the word that holds the address
	kind refKind
	elem reflect.Type // the pointee of a pointer, the element of a slice; else nil

	// win is the offset of the word's window in a cell, and winLen its
	// length; the last window extends to the end of the cell.
	win, winLen uintptr
	// maxLen is the length poison gives a slice (and its capacity), and
	// the longest it lets a string keep.
	maxLen int
	// shared is set on words past the last window a cell could separate,
	// which share it.
	shared bool
}

// Window sizes wanted, in bytes: how far past a reference word's address a
// program may reach through it. A pointer reaches its pointee; a map or
// chan, the runtime's header of it (the swiss map and hchan headers are
// under 128 bytes); a func, its code pointer; an interface's data word, a
// dynamic value whose size is not known here; a slice or a string, as many
// elements as the window holds.
const (
	unknownReach = 4 << 10
	headerReach  = 256
	funcReach    = 64
	seqReach     = 64 << 10 // slices and strings
	minWindow    = 8        // a pointer's alignment
	roundWindow  = 64
)

func (r *ref) reach() uintptr {
	switch r.kind {
	case kindPointer:
		return max(r.elem.Size(), 1)
	case kindMap, kindChan:
		return headerReach
	case kindFunc:
		return funcReach
	case kindSlice:
		if es := r.elem.Size(); es > seqReach {
			return es
		}
		return seqReach
	case kindString:
		return seqReach
	}
	return unknownReach
}

// layWindows gives each reference word a window in a cell of cellSize
// bytes. Windows fill the first half of the cell, smallest first, so that
// the largest, which a program is likeliest to overrun, comes last and runs
// on to the end of the cell: an overrun of it stays in its own cell. When
// the wanted sizes do not fit, every window is capped at the largest power
// of two that fits, down to 8 bytes; words beyond what even 8-byte windows
// can separate share the last window.
func (l *Layout) layWindows(cellSize uintptr) {
	l.cellSize = cellSize
	if cellSize == 0 {
		return
	}
	budget := cellSize / 2
	size := func(r *ref, limit uintptr) uintptr {
		w := min(r.reach(), limit)
		unit := min(uintptr(roundWindow), limit)
		return (w + unit - 1) / unit * unit
	}
	total := func(limit uintptr) uintptr {
		var n uintptr
		for i := range l.refs {
			n += size(&l.refs[i], limit)
		}
		return n
	}
	limit := budget
	for limit > minWindow && total(limit) > budget {
		limit /= 2
	}
	order := make([]int, len(l.refs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(size(&l.refs[a], limit), size(&l.refs[b], limit))
	})
	at := uintptr(0)
	for k, i := range order {
		r := &l.refs[i]
		w := size(r, limit)
		if at+w > budget && k > 0 {
			// No room left: share the last window (limit is minWindow).
			last := &l.refs[order[k-1]]
			r.win, r.winLen, r.shared = last.win, last.winLen, true
			last.shared = true
			r.setMaxLen(r.winLen)
			continue
		}
		r.win, r.winLen = at, w
		r.setMaxLen(w)
		at += w
		l.byWindow = append(l.byWindow, i)
	}
	// The last window runs on to the end of the cell; lengths stay within
	// its own size, so that a whole slice stays in the first half.
	last := &l.refs[l.byWindow[len(l.byWindow)-1]]
	last.winLen = cellSize - last.win
}

func (r *ref) setMaxLen(w uintptr) {
	switch r.kind {
	case kindSlice:
		if es := r.elem.Size(); es > 0 {
			r.maxLen = int(max(w/es, 1))
		}
	case kindString:
		r.maxLen = int(w)
	}
}

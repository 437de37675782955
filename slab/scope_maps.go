package slab

import (
	"reflect"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
)

// Maps in a scope. A Go map cannot live in a chunk: its memory is the
// runtime's. A scope owns the maps made in it instead: Release clears them
// and keeps them for the scope's next use, so that a request that builds
// the same maps as the one before it allocates none. Maps do not shrink,
// so one that held many entries is not kept, and a scope keeps a bounded
// number. Debug and -asan builds keep none: a map used after Release is
// then empty rather than another request's. (AddressSanitizer cannot report
// such a use: a map's memory is the runtime's, which -asan does not
// instrument, so a map cannot be poisoned as scope memory is.)

// scopeMaps is a scope's maps: those made since the last Release, and the
// cleared ones kept for reuse. Each is an interface value holding the map,
// which takes no allocation (a map is a pointer).
type scopeMaps struct {
	live []any
	kept []any
}

const (
	// keptMaps bounds the maps a scope keeps across Release.
	keptMaps = 64
	// keptMapLen bounds the entries a map may have held to be kept.
	keptMapLen = 1024
)

// anyType returns the type descriptor of the value x holds.
func anyType(x any) unsafe.Pointer { return (*[2]unsafe.Pointer)(unsafe.Pointer(&x))[0] }

// reuse returns a kept map whose type has the descriptor typ, and counts
// it among the live ones, or returns nil.
func (m *scopeMaps) reuse(typ unsafe.Pointer) any {
	for i := len(m.kept) - 1; i >= 0; i-- {
		if x := m.kept[i]; anyType(x) == typ {
			last := len(m.kept) - 1
			m.kept[i] = m.kept[last]
			m.kept[last] = nil
			m.kept = m.kept[:last]
			m.live = append(m.live, x)
			return x
		}
	}
	return nil
}

// release clears the maps made since the last release and keeps what it
// may of them.
func (m *scopeMaps) release() {
	for i, x := range m.live {
		v := reflect.ValueOf(x)
		keep := !debugMode && !asan.Enabled && len(m.kept) < keptMaps && v.Len() <= keptMapLen
		v.Clear()
		if keep {
			m.kept = append(m.kept, x)
		}
		m.live[i] = nil
	}
	m.live = m.live[:0]
}

// makeMap returns an empty map of the map type t for st, which the caller
// has entered: a kept one, or a new one with room for hint entries. It
// returns nil if st's limit refuses the memory of hint entries.
func (st *scopeState) makeMap(t reflect.Type, hint int) any {
	if hint > 0 && !st.take(uintptr(hint)*(t.Key().Size()+t.Elem().Size())) {
		return nil
	}
	if x := st.maps.reuse(rtypeWord(t)); x != nil {
		return x
	}
	x := reflect.MakeMapWithSize(t, hint).Interface()
	st.maps.live = append(st.maps.live, x)
	return x
}

// MakeMapIn returns an empty map of type M with room for about hint
// entries, which s owns: s.Release clears it, and it must not be used
// after. The map is the Go runtime's, as every map is, but the scope keeps
// it, cleared, for its next use, so that requests that build maps allocate
// none once the scope is warm. Its keys and values may be in the scope.
//
// MakeMapIn panics if hint is negative, and as NewIn does.
func MakeMapIn[M ~map[K]V, K comparable, V any](s *Scope, hint int) M {
	if hint < 0 {
		panic(mapHintError(hint))
	}
	t := reflect.TypeFor[M]()
	st := s.enter(opMakeMapIn, "", "")
	x := st.makeMap(t, hint)
	var err error
	if x == nil {
		err = st.limitError(opMakeMapIn, t.String(), uintptr(hint)*(t.Key().Size()+t.Elem().Size()))
	}
	s.exit(st)
	if err != nil {
		panic(err)
	}
	return x.(M)
}

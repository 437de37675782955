package slabjson

// A nameSet holds the names of the members of the objects being decoded
// that no struct field took (all of a map's keys), to find a name given
// twice in one object: jsontext rejects duplicates, after unescaping, in
// every object of the input, so the decoder must too. The objects being
// decoded nest, so the set is a stack: each object marks where its names
// begin and releases them when it ends. Few objects have unknown members,
// and those have few, so an object's names are compared one by one; one
// with many gets a map.
type nameSet struct {
	buf  []byte   // the names, unescaped, one after another
	ends []int    // where each name ends in buf
	big  []bigSet // maps of the objects with many names, innermost last
}

// A bigSet is the map of the names of an object with many, from the
// object's mark.
type bigSet struct {
	mark  int
	names map[string]struct{}
}

// bigNames is how many names an object holds before they go in a map.
const bigNames = 32

// mark returns the position of the names of an object that begins now.
func (s *nameSet) mark() int { return len(s.ends) }

// add adds name to the names of the object whose mark is mark, and
// reports false if the object has it already.
func (s *nameSet) add(mark int, name []byte) bool {
	n := len(s.ends) - mark
	if k := len(s.big); k > 0 && s.big[k-1].mark == mark {
		m := s.big[k-1].names
		if _, dup := m[string(name)]; dup {
			return false
		}
		m[string(name)] = struct{}{}
		return true
	}
	start := 0
	if mark > 0 {
		start = s.ends[mark-1]
	}
	for i := mark; i < len(s.ends); i++ {
		if string(s.buf[start:s.ends[i]]) == string(name) {
			return false
		}
		start = s.ends[i]
	}
	if n+1 > bigNames {
		m := make(map[string]struct{}, 2*bigNames)
		start := 0
		if mark > 0 {
			start = s.ends[mark-1]
		}
		for i := mark; i < len(s.ends); i++ {
			m[string(s.buf[start:s.ends[i]])] = struct{}{}
			start = s.ends[i]
		}
		m[string(name)] = struct{}{}
		s.big = append(s.big, bigSet{mark: mark, names: m})
		// One empty entry stands for the object's names, so that an
		// object within it gets a mark of its own.
		s.buf = s.buf[:s.startOf(mark)]
		s.ends = append(s.ends[:mark], len(s.buf))
		return true
	}
	s.buf = append(s.buf, name...)
	s.ends = append(s.ends, len(s.buf))
	return true
}

func (s *nameSet) startOf(mark int) int {
	if mark == 0 {
		return 0
	}
	return s.ends[mark-1]
}

// release forgets the names of the object whose mark is mark.
func (s *nameSet) release(mark int) {
	if k := len(s.big); k > 0 && s.big[k-1].mark == mark {
		s.big[k-1] = bigSet{}
		s.big = s.big[:k-1]
	}
	s.buf = s.buf[:s.startOf(mark)]
	s.ends = s.ends[:mark]
}

// reset empties the set, and drops its memory if it grew large.
func (s *nameSet) reset() {
	clear(s.big)
	s.big = s.big[:0]
	s.buf, s.ends = s.buf[:0], s.ends[:0]
	if cap(s.buf) > 64<<10 {
		s.buf, s.ends = nil, nil
	}
}

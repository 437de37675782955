//go:build slabdebug

package tracker

import "github.com/slabtrack/slabtrack/internal/testlabel"

// markTest marks the calling goroutine as test name's (see ThisTest), or
// returns 0 if this Go's goroutine labels cannot be read.
func markTest(name string) uint32 {
	if !testlabel.Works() {
		return 0
	}
	mark, parent := testlabel.Mark(name)
	registerMark(mark, parent)
	return mark
}

// registerMark records mark's parent, for under.
func registerMark(mark, parent uint32) {
	marks.Lock()
	defer marks.Unlock()
	if marks.parent == nil {
		marks.parent = map[uint32]uint32{}
	}
	marks.parent[mark] = parent
}

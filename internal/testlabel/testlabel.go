// Package testlabel marks goroutines as working for one test, so that debug
// builds can record, with each allocation, which test's goroutines made it.
//
// A mark is a runtime/pprof label (key Key). The Go runtime copies a
// goroutine's labels to every goroutine it starts, so the goroutines that a
// test starts after marking itself, and the ones they start, carry the
// test's mark; the testing package starts each subtest from its parent's
// goroutine, so subtests inherit it too. A CPU profile shows the label, as
// it shows any other.
//
// Reading the calling goroutine's labels has no exported API: Current uses
// runtime/pprof's accessor (go:linkname, which the runtime keeps for the
// packages that use it), and reads the label set in its current layout,
// which init verifies. If a future Go changed the layout, Current returns 0
// for every goroutine: nothing is attributed, and nothing is misattributed.
//
// Only debug builds import this package, so release binaries do not link
// runtime/pprof on slabtrack's account.
package testlabel

import (
	"context"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"
)

// Key is the pprof label key of a mark. Its value is the mark's number, a
// space, and the test's name.
const Key = "slabtrack.test"

//go:linkname getProfLabel runtime/pprof.runtime_getProfLabel
func getProfLabel() unsafe.Pointer

// labelSet is the layout of the labels a goroutine carries: runtime/pprof's
// labelMap, a list of key-value pairs sorted by key.
type labelSet struct {
	list []label
}

type label struct {
	key, value string
}

var (
	layoutOK bool
	lastMark atomic.Uint32
)

func init() {
	// Set labels on a goroutine of our own, read them back, and use the
	// layout only if it reads as expected.
	done := make(chan bool)
	go func() {
		pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("a", "1", Key, "2 probe")))
		p := (*labelSet)(getProfLabel())
		done <- p != nil && len(p.list) == 2 && p.list[0] == label{"a", "1"} && p.list[1] == label{Key, "2 probe"}
	}()
	layoutOK = <-done
}

// Works reports whether marks can be read in this build of Go.
func Works() bool { return layoutOK }

// Current returns the mark of the calling goroutine, or 0 if it has none.
func Current() uint32 {
	if !layoutOK {
		return 0
	}
	p := (*labelSet)(getProfLabel())
	if p == nil {
		return 0
	}
	for _, l := range p.list {
		if l.key == Key {
			return parse(l.value)
		}
	}
	return 0
}

func parse(v string) uint32 {
	num, _, _ := strings.Cut(v, " ")
	n, err := strconv.ParseUint(num, 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

// Mark gives the calling goroutine, and the goroutines it starts from now
// on, a new mark named name, keeping its other labels, and returns the new
// mark and the one it replaces (0 if none).
func Mark(name string) (mark, parent uint32) {
	parent = Current()
	mark = lastMark.Add(1)
	var kv []string
	if p := (*labelSet)(getProfLabel()); p != nil && layoutOK {
		for _, l := range p.list {
			if l.key != Key {
				kv = append(kv, l.key, l.value)
			}
		}
	}
	kv = append(kv, Key, strconv.FormatUint(uint64(mark), 10)+" "+name)
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels(kv...)))
	return mark, parent
}

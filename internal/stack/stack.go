// Package stack captures call stacks cheaply and interns them in a depot, so
// that debug builds can record where every object was allocated and freed
// with a 4-byte id per record and bounded memory.
//
// On amd64 Capture follows the chain of frame pointers, as AddressSanitizer's
// fast unwinder and the Go runtime's execution tracer do: a few nanoseconds a
// frame. runtime.Callers, the fallback (other architectures, or UseCallers),
// decodes each frame's stack-pointer table and costs about 0.5 µs for a short
// stack. Symbolising, the expensive part, happens only when a report is
// printed (Frames), which also drops the leading frames inside slabtrack, so
// that a stack starts at the user's call.
package stack

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/slabtrack/slabtrack/internal/asan"
)

// UseCallers makes Capture use runtime.Callers even where frame pointers
// are available: slower, but independent of the frame-pointer chain (which
// the Go runtime, too, distrusts when C frames are on the stack).
var UseCallers atomic.Bool

// ID names an interned stack. The zero ID is "no stack recorded".
type ID uint32

// MaxDepth is the most frames a stack records.
const MaxDepth = 64

// Capture records the calling goroutine's stack and returns its id. skip is
// the number of frames of slabtrack's own to leave out above Capture's
// caller (0 starts the stack at the caller of Capture); with frame pointers
// they are recorded all the same, and Frames leaves them out. depth bounds
// the other frames recorded; 0 records nothing and returns 0.
//
//go:noinline
func Capture(skip, depth int) ID {
	if depth <= 0 {
		return 0
	}
	if asan.Enabled {
		return captureASan(skip, depth)
	}
	var buf [MaxDepth]uintptr
	var n int
	if haveFramePointers && !UseCallers.Load() {
		// skip counts logical frames, the walk sees physical ones: with
		// inlining, skipping skip of them could drop a frame of the
		// caller's. So the walk skips only Capture's own frame and keeps
		// skip more; Frames cuts slabtrack's leading frames anyway.
		n = walk(1, buf[:min(depth+skip, MaxDepth)])
	} else {
		n = runtime.Callers(skip+2, buf[:min(depth, MaxDepth)])
	}
	return intern(buf[:n])
}

// captureASan is Capture in -asan builds, whose depot is package asan's,
// in C: there the walk and the interning run uninstrumented, in one call.
//
//go:noinline
func captureASan(skip, depth int) ID {
	var id uint32
	var added bool
	if haveFramePointers && !UseCallers.Load() {
		// framePointer is captureASan's: its caller's frames start with
		// Capture's, whose return address is the first to keep.
		id, added = asan.Capture(framePointer(), 1, min(depth+skip, MaxDepth))
	} else {
		var buf [MaxDepth]uintptr
		id, added = asan.Intern(buf[:runtime.Callers(skip+3, buf[:min(depth, MaxDepth)])])
	}
	if added {
		noteStack(uint32(id), asan.StackPCs(id))
	}
	return ID(id)
}

// noteStack hands the frames of a new stack to package asan, symbolised
// now, once per stack, for the reports printed inside AddressSanitizer's,
// where no Go code can run.
func noteStack(id uint32, pcs []uintptr) {
	var b strings.Builder
	for _, f := range framesOf(pcs) {
		fmt.Fprintf(&b, "%s %s:%d\n", f.Function, f.File, f.Line)
	}
	asan.NoteStack(id, b.String())
}

// maxFrame bounds the size of one frame that walk believes. A saved frame
// pointer that jumps further, or downwards, is not a Go frame of this stack
// (it could be a C frame's), and ends the walk.
const maxFrame = 1 << 20

// walk fills buf with the return addresses of its caller's callers,
// skipping skip of them, by following saved frame pointers: each frame
// holds its caller's frame pointer at fp and its return address just above.
// The PCs are return addresses, like runtime.Callers', one per physical
// frame; CallersFrames expands the inlined calls in them.
//
// walk calls nothing while it holds fp, so the stack cannot move under it.
//
//go:noinline
func walk(skip int, buf []uintptr) int {
	fp := framePointer()
	n := 0
	for fp != nil && n < len(buf) {
		pc := *(*uintptr)(unsafe.Add(fp, unsafe.Sizeof(uintptr(0))))
		if skip > 0 {
			skip--
		} else {
			buf[n] = pc
			n++
		}
		next := *(*unsafe.Pointer)(fp)
		if uintptr(next) <= uintptr(fp) || uintptr(next)-uintptr(fp) > maxFrame || uintptr(next)%unsafe.Sizeof(uintptr(0)) != 0 {
			break
		}
		fp = next
	}
	return n
}

// The depot: shards of append-only PC storage indexed by hash. A stack is
// stored once however often it is captured; the number of distinct stacks of
// a program is bounded by its call sites, and shardLimit bounds it anyway.
const (
	shardBits  = 3
	nshards    = 1 << shardBits
	shardLimit = 1 << 18 // PCs per shard: 2 MiB; beyond it stacks are dropped
)

type shard struct {
	mu    sync.Mutex
	index map[uint64][]uint32 // hash -> positions in starts
	pcs   []uintptr
	start []uint32 // start[k] is where stack k begins in pcs; it ends at start[k+1]
	full  bool
}

var depot [nshards]shard

// Overflow is returned for a stack that did not fit in the full depot.
const Overflow ID = ^ID(0)

func hash(pcs []uintptr) uint64 {
	h := uint64(14695981039346656037)
	for _, pc := range pcs {
		h ^= uint64(pc)
		h *= 1099511628211
		h ^= h >> 29
	}
	return h
}

func intern(pcs []uintptr) ID {
	if len(pcs) == 0 {
		return 0
	}
	h := hash(pcs)
	sh := &depot[h&(nshards-1)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for _, k := range sh.index[h] {
		if equal(sh.get(k), pcs) {
			return makeID(h, k)
		}
	}
	if len(sh.pcs)+len(pcs) > shardLimit || len(sh.start) >= 1<<(32-shardBits)-2 {
		sh.full = true
		return Overflow
	}
	if sh.index == nil {
		sh.index = map[uint64][]uint32{}
	}
	k := uint32(len(sh.start))
	sh.start = append(sh.start, uint32(len(sh.pcs)))
	sh.pcs = append(sh.pcs, pcs...)
	sh.index[h] = append(sh.index[h], k)
	return makeID(h, k)
}

func makeID(h uint64, k uint32) ID { return ID(k<<shardBits|uint32(h&(nshards-1))) + 1 }

// get returns stack k of the shard, which must be locked.
func (sh *shard) get(k uint32) []uintptr {
	end := uint32(len(sh.pcs))
	if int(k)+1 < len(sh.start) {
		end = sh.start[k+1]
	}
	return sh.pcs[sh.start[k]:end]
}

func equal(a, b []uintptr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// PCs returns a copy of the program counters of id, nil for 0 or Overflow.
func (id ID) PCs() []uintptr {
	if id == 0 || id == Overflow {
		return nil
	}
	if asan.Enabled {
		return asan.StackPCs(uint32(id))
	}
	v := uint32(id - 1)
	sh := &depot[v&(nshards-1)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	k := v >> shardBits
	if int(k) >= len(sh.start) {
		return nil
	}
	return append([]uintptr(nil), sh.get(k)...)
}

// Frames symbolises id, dropping the leading frames inside slabtrack (see
// Internal), so that the first frame is the user's call, and the frames Go
// tracebacks hide (see hidden). It is slow (about a
// microsecond per frame): call it only to print a report.
func (id ID) Frames() []runtime.Frame { return framesOf(id.PCs()) }

// framesOf symbolises pcs as Frames does.
func framesOf(pcs []uintptr) []runtime.Frame {
	if len(pcs) == 0 {
		return nil
	}
	var out []runtime.Frame
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if (len(out) > 0 || !Internal(f)) && !hidden(f.Function) {
			out = append(out, f)
		}
		if !more {
			break
		}
	}
	return out
}

// hidden reports whether a frame is one that Go's own tracebacks leave out:
// runtime.main and runtime.goexit, at the bottom of the goroutines, and the
// wrappers the compiler generates for go and defer statements (which the
// frame-pointer walk sees and runtime.Callers elides).
func hidden(function string) bool {
	if function == "runtime.goexit" || function == "runtime.main" {
		return true
	}
	last := function[strings.LastIndexByte(function, '.')+1:]
	return strings.HasPrefix(last, "gowrap") || strings.HasPrefix(last, "deferwrap")
}

// module is the import path prefix of slabtrack's packages, such as
// "github.com/slabtrack/slabtrack/": this package's path without its own
// tail, so that a fork or a vendored copy under another path filters its
// own frames.
var module = strings.TrimSuffix(reflect.TypeFor[ID]().PkgPath(), "internal/stack")

// Internal reports whether f is a frame of the allocator or the tracker
// themselves (packages slab, tracker and internal/...), which reports leave
// out. Test files of those packages are not internal: their helpers are the
// user's code.
func Internal(f runtime.Frame) bool {
	if strings.HasSuffix(f.File, "_test.go") || f.Function == "" {
		return false
	}
	if strings.HasPrefix(f.Function, "runtime.") {
		return true // runtime.Callers, when a capture skips too little
	}
	rest, ok := strings.CutPrefix(f.Function, module)
	if !ok {
		return false
	}
	for _, pkg := range []string{"slab.", "tracker.", "internal/"} {
		if strings.HasPrefix(rest, pkg) {
			return true
		}
	}
	return false
}

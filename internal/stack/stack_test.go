package stack

import (
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

//go:noinline
func captureHere(depth int) ID { return Capture(0, depth) }

func TestCaptureInternsEqualStacks(t *testing.T) {
	var ids []ID
	for range 3 {
		ids = append(ids, captureHere(16)) // one call site, three captures
	}
	require.NotZero(t, ids[0], "a capture with depth > 0 returns an id")
	assert.Equal(t, ids[0], ids[1], "the same stack is interned once")
	assert.Equal(t, ids[0], ids[2], "the same stack is interned once")
	other := captureHere(16)
	assert.NotEqual(t, ids[0], other, "a different call site is a different stack")
}

func TestCaptureDepth(t *testing.T) {
	assert.Zero(t, captureHere(0), "depth 0 records nothing")
	assert.Len(t, captureHere(2).PCs(), 2, "depth bounds the recorded frames")
	assert.LessOrEqual(t, len(captureHere(1000).PCs()), MaxDepth, "depth is capped at MaxDepth")
}

func TestFramesStartAtCaller(t *testing.T) {
	fr := captureHere(8).Frames()
	require.NotEmpty(t, fr, "a recorded stack symbolises to frames")
	assert.True(t, strings.HasSuffix(fr[0].Function, "stack.captureHere"),
		"the first frame is the function that called Capture, got %s", fr[0].Function)
	for _, f := range fr {
		assert.NotEqual(t, "runtime.goexit", f.Function, "the goroutine's goexit frame is left out")
	}
}

//go:noinline
func recurse(n int, f func() ID) ID {
	if n == 0 {
		return f()
	}
	return recurse(n-1, f)
}

func functions(fr []runtime.Frame) []string {
	var out []string
	for _, f := range fr {
		out = append(out, f.Function)
	}
	return out
}

// The frame-pointer walk and runtime.Callers see the same frames.
func TestUnwindersAgree(t *testing.T) {
	defer UseCallers.Store(false)
	for _, depth := range []int{0, 1, 5, 40} {
		for _, onGoroutine := range []bool{false, true} {
			capture := func(callers bool) []string {
				UseCallers.Store(callers)
				var id ID
				get := func() { id = recurse(depth, func() ID { return captureHere(MaxDepth) }) }
				if onGoroutine {
					done := make(chan struct{})
					go func() { get(); close(done) }()
					<-done
				} else {
					get()
				}
				return functions(id.Frames())
			}
			fast, slow := capture(false), capture(true)
			require.NotEmpty(t, slow, "runtime.Callers records the stack")
			assert.Equal(t, slow, fast, "depth %d, new goroutine %t: both unwinders give the same frames", depth, onGoroutine)
		}
	}
}

func TestInternal(t *testing.T) {
	tests := []struct {
		fn, file string
		want     bool
	}{
		{module + "slab.(*Pool[...]).Alloc", "/src/slab/pool.go", true},
		{module + "tracker.Find", "/src/tracker/leak.go", true},
		{module + "internal/stack.Capture", "/src/internal/stack/stack.go", true},
		{"runtime.Callers", "/go/src/runtime/extern.go", true},
		{module + "slab.allocOrder", "/src/slab/debug_test.go", false},
		{module + "slab_test.allocOrder", "/src/slab/debug_test.go", false},
		{module + "slab/slabhttp.Middleware.func1", "/src/slab/slabhttp/middleware.go", false},
		{"main.handle", "/src/main.go", false},
		{"example.com/other/slab.(*Pool[...]).Alloc", "/src/slab/pool.go", false},
	}
	for _, tt := range tests {
		t.Run(tt.fn, func(t *testing.T) {
			got := Internal(runtime.Frame{Function: tt.fn, File: tt.file})
			assert.Equal(t, tt.want, got, "Internal(%s in %s)", tt.fn, tt.file)
		})
	}
}

// The module path that Internal filters by is derived from this package's
// own path: it is the module that go.mod declares, and a real frame of this
// package, as the runtime names it, is internal.
func TestInternalModuleIsDerived(t *testing.T) {
	gomod, err := os.ReadFile("../../go.mod")
	require.NoError(t, err, "the module's go.mod is readable")
	line, _, _ := strings.Cut(string(gomod), "\n")
	path, ok := strings.CutPrefix(line, "module ")
	require.True(t, ok, "go.mod starts with its module line: %q", line)
	assert.Equal(t, strings.TrimSpace(path)+"/", module, "the derived prefix is go.mod's module path")

	pc := reflect.ValueOf(Capture).Pointer()
	fn := runtime.FuncForPC(pc)
	require.NotNil(t, fn, "Capture's PC names a function")
	file, line2 := fn.FileLine(pc)
	assert.True(t, Internal(runtime.Frame{Function: fn.Name(), File: file, Line: line2}), "a frame of %s is internal", fn.Name())
}

func TestNoStack(t *testing.T) {
	assert.Nil(t, ID(0).Frames(), "the zero id has no frames")
	assert.Nil(t, Overflow.Frames(), "the overflow id has no frames")
}

func BenchmarkCapture(b *testing.B) {
	defer UseCallers.Store(false)
	for _, callers := range []bool{false, true} {
		for _, depth := range []int{16, 32} {
			name := fmt.Sprintf("framepointers/depth=%d", depth)
			if callers {
				name = fmt.Sprintf("callers/depth=%d", depth)
			}
			b.Run(name, func(b *testing.B) {
				UseCallers.Store(callers)
				b.ReportAllocs()
				for b.Loop() {
					recurse(10, func() ID { return captureHere(depth) })
				}
			})
		}
	}
}

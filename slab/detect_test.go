package slab_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/faulttest"
	"github.com/slabtrack/slabtrack/internal/race"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabhttp"
	"github.com/slabtrack/slabtrack/tracker"
)

// The detection table of docs/debugging.md: each use of a freed object,
// committed in a child process of this test binary, in whatever build the
// binary is (release, -race, -tags slabdebug, both) and, in debug builds,
// once more with guard pages (SLABTRACK_DEBUG=guard=1). The parent checks
// the outcome the table gives for the build: caught at the access (the
// report's title, the line that accessed, the Free and the allocation),
// caught later (the write after free's report, with the Free and the
// allocation, found by tracker.Check), a runtime panic with no report, or
// nothing at all.

const detectChildEnv = "SLABTRACK_DETECT_CHILD"

func TestMain(m *testing.M) {
	if name := os.Getenv(detectChildEnv); name != "" {
		runDetectChild(name)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type detCustomer struct {
	ID   int64
	Name string
}

type detItem struct {
	SKU int64
	Qty int32
}

// detSinkW is an io.Writer whose Write reads its receiver.
type detSinkW struct{ n int }

func (w *detSinkW) Write(b []byte) (int, error) {
	w.n += len(b)
	return len(b), nil
}

// detOrder has a field of each kind of reference, and a scalar.
type detOrder struct {
	ID       int64
	Customer *detCustomer
	Items    []detItem
	Name     string
	Meta     map[string]int
	Sink     io.Writer
	Total    float64
}

// detPoint is pointer-free: guard pages can hold it.
type detPoint struct {
	X, Y float64
	N    int64
}

var detSink any

//go:noinline
func detAllocOrder(p *slab.Pool[detOrder]) *detOrder {
	x := p.Alloc()
	*x = detOrder{ID: 1, Customer: &detCustomer{ID: 2, Name: "ada"}, Items: []detItem{{SKU: 3, Qty: 4}},
		Name: "ada", Meta: map[string]int{"k": 5}, Sink: &detSinkW{}, Total: 6.5}
	return x
}

//go:noinline
func detFreeOrder(p *slab.Pool[detOrder], x *detOrder) { p.Free(x) }

//go:noinline
func detAllocPoint(p *slab.Pool[detPoint]) *detPoint {
	x := p.Alloc()
	*x = detPoint{X: 1, Y: 2, N: 3}
	return x
}

//go:noinline
func detFreePoint(p *slab.Pool[detPoint], x *detPoint) { p.Free(x) }

// An outcome is what a build does about a use of a freed object.
type outcome int

const (
	silent   outcome = iota // no report, no panic
	crash                   // a runtime panic (nil dereference, index out of range) with no report
	atAccess                // a report at the access, with the access, the Free and the allocation
	later                   // a write after free reported later, with the Free and the allocation
)

func (o outcome) String() string {
	return [...]string{"silent", "runtime panic, no report", "caught at the access", "caught later"}[o]
}

// A detectRow is one use of a freed object: a read or a write of a field of
// a freed detOrder (order) or detPoint (point), on a line marked
// "// access:<name>".
type detectRow struct {
	name  string
	field string // the field the report names
	write bool
	order func(x *detOrder)
	point func(x *detPoint)
	// what release builds and debug builds do, and debug builds with
	// guard pages (which apply to pointer-free types only)
	release, debug, guard outcome
}

var detectRows = []detectRow{
	{name: "read-pointer", field: "Customer", order: func(x *detOrder) {
		detSink = x.Customer.Name // access:read-pointer
	}, release: crash, debug: atAccess, guard: atAccess},
	{name: "read-slice", field: "Items", order: func(x *detOrder) {
		detSink = x.Items[0].Qty // access:read-slice
	}, release: crash, debug: atAccess, guard: atAccess},
	{name: "read-string", field: "Name", order: func(x *detOrder) {
		detSink = x.Name == "ada" // access:read-string
	}, release: silent, debug: atAccess, guard: atAccess},
	{name: "read-map", field: "Meta", order: func(x *detOrder) {
		detSink = x.Meta["k"] // access:read-map
	}, release: silent, debug: atAccess, guard: atAccess},
	{name: "read-interface", field: "Sink", order: func(x *detOrder) {
		_, _ = x.Sink.Write(nil) // access:read-interface
	}, release: crash, debug: atAccess, guard: atAccess},
	{name: "read-scalar", field: "Y", point: func(x *detPoint) {
		detSink = x.Y // access:read-scalar
	}, release: silent, debug: silent, guard: atAccess},
	{name: "write-pointer", field: "Customer", write: true, order: func(x *detOrder) {
		x.Customer.Name = "eve" // access:write-pointer
	}, release: crash, debug: atAccess, guard: atAccess},
	{name: "write-slice", field: "Items", write: true, order: func(x *detOrder) {
		x.Items[0].Qty = 9 // access:write-slice
	}, release: crash, debug: atAccess, guard: atAccess},
	{name: "write-string", field: "Name", write: true, order: func(x *detOrder) {
		x.Name = "eve" // access:write-string
	}, release: silent, debug: later, guard: later},
	{name: "write-map", field: "Meta", write: true, order: func(x *detOrder) {
		x.Meta["k"] = 9 // access:write-map
	}, release: crash, debug: atAccess, guard: atAccess},
	{name: "write-interface", field: "Sink", write: true, order: func(x *detOrder) {
		x.Sink = io.Discard // access:write-interface
	}, release: silent, debug: later, guard: later},
	{name: "write-scalar", field: "N", write: true, point: func(x *detPoint) {
		x.N = 7 // access:write-scalar
	}, release: silent, debug: later, guard: atAccess},
}

// runDetectChild commits the use named "<row>/<same|other>" or
// "scoped-middleware", then runs tracker.Check and prints what it returns.
func runDetectChild(name string) {
	if name == "scoped-middleware" {
		detectScopedChild()
		return
	}
	rowName, where, _ := strings.Cut(name, "/")
	var row detectRow
	for _, r := range detectRows {
		if r.name == rowName {
			row = r
		}
	}
	var alloc, free, access func()
	if row.order != nil {
		p := slab.New[detOrder](slab.WithName("detect"))
		var x *detOrder
		alloc, free, access = func() { x = detAllocOrder(p) }, func() { detFreeOrder(p, x) }, func() { row.order(x) }
	} else {
		p := slab.New[detPoint](slab.WithName("detect"))
		var x *detPoint
		alloc, free, access = func() { x = detAllocPoint(p) }, func() { detFreePoint(p, x) }, func() { row.point(x) }
	}
	done := make(chan struct{})
	if where == "same" {
		go func() {
			tracker.PanicOnFault()
			defer tracker.CatchFaults()
			alloc()
			free()
			access()
			close(done)
		}()
	} else {
		alloc()
		go func() {
			tracker.PanicOnFault()
			defer tracker.CatchFaults()
			time.Sleep(50 * time.Millisecond) // after the Free, with nothing to order the two
			access()
			close(done)
		}()
		free()
	}
	<-done
	if err := tracker.Check(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	fmt.Println("child: done")
}

// detCache is a cache that outlives the request: the bug.
var detCache *detOrder

//go:noinline
func detAllocIn(p *slab.Pool[detOrder], s *slab.Scope) *detOrder {
	x := p.AllocIn(s)
	x.Customer = &detCustomer{Name: "ada"}
	return x
}

// detectScopedChild keeps an object of a request's scope in a cache, and
// reads it in the next request.
//
//slabvet:ignore scopeescape the case keeps a scoped object for the debug build to report its use
func detectScopedChild() {
	p := slab.New[detOrder](slab.WithName("detect"))
	h := slabhttp.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if detCache == nil {
			detCache = detAllocIn(p, slab.ScopeFrom(r.Context()))
			return
		}
		detSink = detCache.Customer.Name // access:scoped-middleware
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println("child: done")
}

// runChild runs the child name with the extra environment env, and returns
// its output and exit code.
func runChild(t *testing.T, name string, env ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), detectChildEnv+"="+name), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err, "the child runs")
	}
	return string(out), code
}

// checkOutcome checks the child's output against the outcome o: a use on
// the line marked access:<marker> of an object named typ, of field field,
// freed by free and allocated by alloc. raced is set if the race detector
// must report the use.
func checkOutcome(t *testing.T, out string, code int, o outcome, raced, guarded bool, marker, typ, field, free, alloc string) {
	t.Helper()
	line := fmt.Sprintf("detect_test.go:%d", faulttest.Line(t, marker))
	if raced {
		assert.Contains(t, out, "WARNING: DATA RACE", "the race detector reports the use")
		assert.Regexp(t, `(Read|Write) at 0x[0-9a-f]+ by goroutine \d+:\n(.*\n)*?.*`+regexp.QuoteMeta(line), out, "at the line that used the object")
		assert.Regexp(t, `Previous write at 0x[0-9a-f]+ by (main goroutine|goroutine \d+):\n(.*\n)*?.*slab\.\(\*Pool\[[^\n]*\]\)\.Free\(\)\n(.*\n)*?.*`+free, out, "against the Free")
	}
	switch o {
	case silent:
		assert.NotContains(t, out, "slab:", "no report")
		assert.NotContains(t, out, "panic:", "no panic")
		assert.Contains(t, out, "child: done", "the child runs on")
	case crash:
		assert.NotContains(t, out, "slab:", "no report")
		assert.Regexp(t, `panic: (runtime error: invalid memory address or nil pointer dereference|runtime error: index out of range|assignment to entry in nil map)`, out, "a runtime panic")
		assert.Equal(t, 2, code, "that ends the child")
	case atAccess:
		verb := "read after free"
		if guarded {
			verb = "use after free"
		}
		title := fmt.Sprintf(`panic: slab: %s of *slab_test.%s field %s (pool "detect", slot `, verb, typ, field)
		if race.Enabled {
			// The race detector's nil check faults at the pointee's
			// start, which may name another field of a guarded object.
			title = fmt.Sprintf(`panic: slab: %s of *slab_test.%s field `, verb, typ)
		}
		assert.Contains(t, out, title, "the report's title")
		assert.Regexp(t, `(read|accessed) here \(this access\):\n(\s+#\d+ .*\n)*?\s+#\d+ .*`+regexp.QuoteMeta(line), out, "the access site")
		assert.Regexp(t, `freed here, [^\n]* ago:\n(\s+#\d+ .*\n)*?\s+#\d+ [^\n]*`+free, out, "the Free")
		assert.Regexp(t, `allocated here, [^\n]* ago:\n(\s+#\d+ .*\n)*?\s+#\d+ [^\n]*`+alloc, out, "the allocation")
		summary := regexp.QuoteMeta(line)
		if marker == "read-interface" {
			// The dereference is in the method the call ran, on the
			// poisoned receiver: the SUMMARY names it, one frame in.
			summary = `detect_test\.go:\d+ in [^\n]*detSinkW\)\.Write`
		}
		assert.Regexp(t, `SUMMARY: slabtrack: use-after-free [^\n]*`+summary, out, "a SUMMARY naming the access")
		assert.Equal(t, 2, code, "the report stops the child")
	case later:
		assert.Contains(t, out, fmt.Sprintf(`slab: write after free to %s.%s of *slab_test.%s (pool "detect", slot `, typ, field, typ), "the report's title")
		assert.Regexp(t, `freed here, [^\n]* ago; the write came after this Free:\n(\s+#\d+ .*\n)*?\s+#\d+ [^\n]*`+free, out, "the Free")
		assert.Regexp(t, `allocated here, [^\n]* ago:\n(\s+#\d+ .*\n)*?\s+#\d+ [^\n]*`+alloc, out, "the allocation")
		assert.Contains(t, out, "found here, by tracker.Check, which did not write the object", "the innocent finder")
		assert.Contains(t, out, "child: done", "the child runs on")
	}
}

func TestDetectionTable(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process per case")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the fault region and guard pages are Linux only")
	}
	type build struct {
		name  string
		env   []string
		guard bool
	}
	builds := []build{{name: "release"}}
	if tracker.Enabled() {
		builds = []build{{name: "slabdebug"}, {name: "slabdebug+guard", env: []string{tracker.EnvVar + "=guard=1"}, guard: true}}
	}
	for _, b := range builds {
		for _, row := range detectRows {
			for _, where := range []string{"same", "other"} {
				t.Run(b.name+"/"+row.name+"/"+where, func(t *testing.T) {
					t.Parallel()
					o := row.release
					if tracker.Enabled() {
						o = row.debug
						if b.guard {
							o = row.guard
						}
					}
					typ, free, alloc := "detOrder", "detFreeOrder", "detAllocOrder"
					guarded := false
					if row.point != nil {
						typ, free, alloc = "detPoint", "detFreePoint", "detAllocPoint"
						guarded = b.guard
					}
					// Another goroutine's unsynchronised use of a
					// heap slot is a data race.
					raced := race.Enabled && where == "other" && !guarded
					out, code := runChild(t, row.name+"/"+where, b.env...)
					checkOutcome(t, out, code, o, raced, guarded, row.name, typ, row.field, free, alloc)
					if t.Failed() {
						t.Logf("the child's output:\n%s", out)
					}
				})
			}
		}
		t.Run(b.name+"/scoped-middleware", func(t *testing.T) {
			t.Parallel()
			o := crash // release builds zero the object: its pointer is nil
			if tracker.Enabled() {
				o = atAccess
			}
			out, code := runChild(t, "scoped-middleware", b.env...)
			checkOutcome(t, out, code, o, false, false, "scoped-middleware", "detOrder", "Customer", `Middleware\.func`, "detAllocIn")
			if t.Failed() {
				t.Logf("the child's output:\n%s", out)
			}
		})
	}
}

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
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/faulttest"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabhttp"
	"github.com/slabtrack/slabtrack/slab/slabjson"
	"github.com/slabtrack/slabtrack/tracker"
)

// The detection table of docs/debugging.md: each use of a freed object or
// of a released scope's memory, committed in a child process of this test
// binary, in whatever build the binary is (release, -race, -tags slabdebug,
// both, -asan, -asan -tags slabdebug) and, in debug builds without -asan,
// once more with guard pages (SLABTRACK_DEBUG=guard=1). The parent checks
// the outcome the table gives for the build: caught at the access (the
// report's title, the line that accessed, the Free and the allocation;
// under -asan, AddressSanitizer's report and slabtrack's beside it),
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
	// what default builds and debug builds do, and debug builds with
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
	{name: "read-scalar-of-pointerful", field: "Total", order: func(x *detOrder) {
		detSink = x.Total // access:read-scalar-of-pointerful
	}, release: silent, debug: silent, guard: silent},
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
	{name: "write-scalar-of-pointerful", field: "Total", write: true, order: func(x *detOrder) {
		x.Total = 7 // access:write-scalar-of-pointerful
	}, release: silent, debug: later, guard: later},
}

// A scopedRow is one use of scope memory after its scope's Release: use
// allocates in the scope and returns the access, on a line marked
// "// access:<name>".
type scopedRow struct {
	name string
	use  func(s *slab.Scope) func()
	// title is the start of debug builds' report, up to the slot number;
	// asanTitle a regexp of the line slabtrack adds to AddressSanitizer's;
	// alloc a regexp of a frame of the allocation's stack.
	title, asanTitle, alloc string
	release, debug          outcome
	// asanFault is set for a read that Go's -asan does not instrument (a
	// string compared with a constant loads its bytes in place, and an
	// index of a string loads its byte uninstrumented: strings do not
	// change), or that a nil check makes before the instrumented load:
	// under -asan, the guard pages of the scope's memory catch it, as in
	// debug builds.
	asanFault bool
}

// detLine is an element type with a pointer: its scope memory is Go memory,
// its reference words poisoned at Release.
type detLine struct {
	Qty  int64
	Name string
}

//go:noinline
func detStringIn(s *slab.Scope) string { return slab.StringIn(s, "ada") }

//go:noinline
func detDecode(s *slab.Scope) *detCustomer {
	c := new(detCustomer)
	if err := slabjson.Unmarshal(s, []byte(`{"ID":2,"Name":"ada"}`), c); err != nil {
		panic(err)
	}
	return c
}

// detBuild builds a string in the scope with a Builder whose buffer grows
// (in place where it can).
//
//go:noinline
func detBuild(s *slab.Scope) string {
	b := slab.BuilderIn(s, 8)
	b.WriteString("ada-")
	b.WriteString(strings.Repeat("lovelace-", 5)) // past the first 32 bytes
	return b.String()
}

//go:noinline
func detMakeItems(s *slab.Scope) []detItem {
	items := slab.MakeSliceIn[detItem](s, 1, 4)
	items[0] = detItem{SKU: 3, Qty: 4}
	return items
}

//go:noinline
func detAppendItems(s *slab.Scope) []detItem {
	return slab.AppendIn(s, nil, detItem{SKU: 3, Qty: 4})
}

//go:noinline
func detNewPoint(s *slab.Scope) *detPoint {
	pt := slab.NewIn[detPoint](s)
	*pt = detPoint{X: 1, Y: 2, N: 3}
	return pt
}

//go:noinline
func detMakeLines(s *slab.Scope) []detLine {
	lines := slab.MakeSliceIn[detLine](s, 1, 1)
	lines[0] = detLine{Qty: 4, Name: "ada"}
	return lines
}

//go:noinline
func detRelease(s *slab.Scope) { s.Release() }

const (
	scopeTitle     = `slab: use after free of %s field %s (pool "(scope memory)", slot `
	scopeASanTitle = `slab: (read|write) after free of %s field %s \(scope memory\)`
)

var scopedRows = []scopedRow{
	{name: "read-scoped-string", use: func(s *slab.Scope) func() {
		str := detStringIn(s)
		return func() { detSink = str == "ada" } // access:read-scoped-string
	}, title: fmt.Sprintf(scopeTitle, "[]uint8", "[0]"), asanTitle: fmt.Sprintf(scopeASanTitle, `\[\]uint8`, `\[0\]`),
		alloc: "detStringIn", release: silent, debug: atAccess, asanFault: true},
	{name: "read-decoded-string", use: func(s *slab.Scope) func() {
		c := detDecode(s)
		return func() { detSink = c.Name == "ada" } // access:read-decoded-string
	}, title: `slab: use after free of []uint8 field [`, asanTitle: fmt.Sprintf(scopeASanTitle, `\[\]uint8`, `\[\d+\]`),
		alloc: `slabjson\.`, release: silent, debug: atAccess, asanFault: true},
	{name: "read-built-string", use: func(s *slab.Scope) func() {
		str := detBuild(s)
		return func() { detSink = str[40] } // access:read-built-string
	}, title: fmt.Sprintf(scopeTitle, "[]uint8", "[40]"), asanTitle: fmt.Sprintf(scopeASanTitle, `\[\]uint8`, `\[40\]`),
		alloc: "detBuild", release: silent, debug: atAccess, asanFault: true},
	{name: "read-scoped-slice", use: func(s *slab.Scope) func() {
		items := detMakeItems(s)
		return func() { detSink = items[0].Qty } // access:read-scoped-slice
	}, title: fmt.Sprintf(scopeTitle, "[]slab_test.detItem", "[0].Qty"), asanTitle: fmt.Sprintf(scopeASanTitle, `\[\]slab_test\.detItem`, `\[0\]\.Qty`),
		alloc: "detMakeItems", release: silent, debug: atAccess},
	{name: "write-scoped-slice", use: func(s *slab.Scope) func() {
		items := detAppendItems(s)
		return func() { items[0].Qty = 9 } // access:write-scoped-slice
	}, title: fmt.Sprintf(scopeTitle, "[]slab_test.detItem", "[0].Qty"), asanTitle: fmt.Sprintf(scopeASanTitle, `\[\]slab_test\.detItem`, `\[0\]\.Qty`),
		alloc: "detAppendItems", release: silent, debug: atAccess},
	{name: "read-scoped-value", use: func(s *slab.Scope) func() {
		pt := detNewPoint(s)
		return func() { detSink = pt.Y } // access:read-scoped-value
	}, title: fmt.Sprintf(scopeTitle, "[]slab_test.detPoint", "[0].Y"), asanTitle: fmt.Sprintf(scopeASanTitle, `\[\]slab_test\.detPoint`, `\[0\]\.Y`),
		alloc: "detNewPoint", release: silent, debug: atAccess, asanFault: true},
	{name: "read-scoped-reference", use: func(s *slab.Scope) func() {
		lines := detMakeLines(s)
		return func() { detSink = lines[0].Name == "ada" } // access:read-scoped-reference
	}, title: `slab: read after free of []slab_test.detLine field Name (pool "(scope memory)", slot `,
		asanTitle: fmt.Sprintf(scopeASanTitle, `\[\]slab_test\.detLine`, `\[0\]\.Name`),
		alloc:     "detMakeLines", release: silent, debug: atAccess},
	{name: "read-scoped-scalar-of-pointerful", use: func(s *slab.Scope) func() {
		lines := detMakeLines(s)
		return func() { detSink = lines[0].Qty } // access:read-scoped-scalar-of-pointerful
	}, asanTitle: fmt.Sprintf(scopeASanTitle, `\[\]slab_test\.detLine`, `\[0\]\.Qty`),
		alloc: "detMakeLines", release: silent, debug: silent},
}

// runDetectChild commits the use named "<row>/<same|other>" or
// "scoped-middleware", then runs tracker.Check and prints what it returns.
func runDetectChild(name string) {
	if name == "scoped-middleware" {
		detectScopedChild()
		return
	}
	if rest, ok := strings.CutPrefix(name, "scoped/"); ok {
		detectScopeMemoryChild(rest)
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
		freed := make(chan struct{})
		go func() {
			tracker.PanicOnFault()
			defer tracker.CatchFaults()
			afterOther(freed)
			access()
			close(done)
		}()
		free()
		close(freed)
	}
	<-done
	if err := tracker.Check(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	fmt.Println("child: done")
}

// detectScopeMemoryChild commits the use of scope memory named
// "<row>/<same|other>" after its scope's Release, then runs tracker.Check
// and prints what it returns.
func detectScopeMemoryChild(name string) {
	rowName, where, _ := strings.Cut(name, "/")
	var row scopedRow
	for _, r := range scopedRows {
		if r.name == rowName {
			row = r
		}
	}
	s := slab.NewScope()
	done := make(chan struct{})
	if where == "same" {
		go func() {
			tracker.PanicOnFault()
			defer tracker.CatchFaults()
			access := row.use(s)
			detRelease(s)
			access()
			close(done)
		}()
	} else {
		access := row.use(s)
		released := make(chan struct{})
		go func() {
			tracker.PanicOnFault()
			defer tracker.CatchFaults()
			afterOther(released)
			access()
			close(done)
		}()
		detRelease(s)
		close(released)
	}
	<-done
	if err := tracker.Check(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	fmt.Println("child: done")
}

// afterOther waits until the other goroutine has freed the object (done is
// closed then). Under -race it sleeps instead, long enough in practice,
// with nothing to order the two, so that the race detector sees the use
// race with the Free; other builds wait for done, so that a slow Free (a
// loaded machine, an -asan build symbolising a new stack) cannot come after
// the use.
func afterOther(done <-chan struct{}) {
	if raceBuild {
		time.Sleep(50 * time.Millisecond)
		return
	}
	<-done
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

// An expect is what a report of a use must show: the line marked
// access:<marker>; title, the start of debug builds' report (up to the slot
// number) for a use caught at the access, later for one caught later;
// asanTitle, a regexp of the line slabtrack adds to AddressSanitizer's
// report; free and alloc, regexps of a frame of the Free's (or the
// Release's) and of the allocation's stacks. raced is set if the race
// detector must report the use.
type expect struct {
	marker, title, later, asanTitle, free, alloc string
	raced                                        bool
}

// checkOutcome checks the child's output against the outcome o.
func checkOutcome(t *testing.T, out string, code int, o outcome, e expect) {
	t.Helper()
	line := fmt.Sprintf("detect_test.go:%d", faulttest.Line(t, e.marker))
	if e.raced {
		assert.Contains(t, out, "WARNING: DATA RACE", "the race detector reports the use")
		assert.Regexp(t, `(Read|Write) at 0x[0-9a-f]+ by goroutine \d+:\n(.*\n)*?.*`+regexp.QuoteMeta(line), out, "at the line that used the object")
		assert.Regexp(t, `Previous write at 0x[0-9a-f]+ by (main goroutine|goroutine \d+):\n(.*\n)*?.*slab\.\(\*Pool\[[^\n]*\]\)\.Free\(\)\n(.*\n)*?.*`+e.free, out, "against the Free")
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
		assert.Contains(t, out, "panic: "+e.title, "the report's title")
		assert.Regexp(t, `(read|accessed) here \(this access\):\n(\s+#\d+ .*\n)*?\s+#\d+ .*`+regexp.QuoteMeta(line), out, "the access site")
		assert.Regexp(t, `freed here, [^\n]* ago:\n(\s+#\d+ .*\n)*?\s+#\d+ [^\n]*`+e.free, out, "the Free")
		assert.Regexp(t, `allocated here, [^\n]* ago:\n(\s+#\d+ .*\n)*?\s+#\d+ [^\n]*`+e.alloc, out, "the allocation")
		summary := regexp.QuoteMeta(line)
		if e.marker == "read-interface" {
			// The dereference is in the method the call ran, on the
			// poisoned receiver: the SUMMARY names it, one frame in.
			summary = `detect_test\.go:\d+ in [^\n]*detSinkW\)\.Write`
		}
		assert.Regexp(t, `SUMMARY: slabtrack: use-after-free [^\n]*`+summary, out, "a SUMMARY naming the access")
		assert.Equal(t, 2, code, "the report stops the child")
	case later:
		assert.Contains(t, out, e.later, "the report's title")
		assert.Regexp(t, `freed here, [^\n]* ago; the write came after this Free:\n(\s+#\d+ .*\n)*?\s+#\d+ [^\n]*`+e.free, out, "the Free")
		assert.Regexp(t, `allocated here, [^\n]* ago:\n(\s+#\d+ .*\n)*?\s+#\d+ [^\n]*`+e.alloc, out, "the allocation")
		assert.Contains(t, out, "found here, by tracker.Check, which did not write the object", "the innocent finder")
		assert.Contains(t, out, "child: done", "the child runs on")
	}
}

// checkASan checks the child's output for AddressSanitizer's report of the
// use, and slabtrack's beside it, in -asan builds, where every use is
// caught at the access.
func checkASan(t *testing.T, out string, code int, e expect) {
	t.Helper()
	want := faulttest.Line(t, e.marker)
	line := fmt.Sprintf("detect_test.go:%d", want)
	assert.Regexp(t, `ERROR: AddressSanitizer: use-after-poison on address 0x[0-9a-f]+`, out, "AddressSanitizer's report")
	assert.Regexp(t, `(READ|WRITE) of size \d+ at 0x[0-9a-f]+`, out, "of an access")
	assert.Regexp(t, `(?m)^`+e.asanTitle, out, "slabtrack's title")
	// The access, which AddressSanitizer and slabtrack name with DWARF
	// (go test leaves it out without -o): else by its pc, which this
	// process, the same binary, can name.
	if m := regexp.MustCompile(`here \(this access[^\n]*\n\s+#0 pc=(0x[0-9a-f]+)`).FindStringSubmatch(out); m != nil {
		pc, err := strconv.ParseUint(m[1], 0, 64)
		require.NoError(t, err)
		_, got := runtime.FuncForPC(uintptr(pc) - 1).FileLine(uintptr(pc) - 1)
		assert.Equal(t, want, got, "the access's pc is on the line that used the memory")
	} else {
		assert.Regexp(t, `#0 0x[0-9a-f]+ in [^\n]*`+regexp.QuoteMeta(line), out, "AddressSanitizer names the access")
		assert.Regexp(t, `here \(this access[^\n]*\n\s+#0 [^\n]*`+regexp.QuoteMeta(line), out, "and so does slabtrack")
		assert.Regexp(t, `SUMMARY: slabtrack: use-after-free [^\n]*`+regexp.QuoteMeta(line), out, "a SUMMARY naming the access")
	}
	assert.Regexp(t, `freed here, [^\n]* ago:\n(\s+#\d+ .*\n)*?\s+#\d+ [^\n]*`+e.free, out, "the Free")
	assert.Regexp(t, `allocated here, [^\n]* ago:\n(\s+#\d+ .*\n)*?\s+#\d+ [^\n]*`+e.alloc, out, "the allocation")
	assert.NotContains(t, out, "child: done", "the report stops the child")
	assert.Equal(t, 1, code, "with AddressSanitizer's exit code")
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
	switch {
	case asanBuild && debugBuild:
		builds = []build{{name: "asan+slabdebug"}}
	case asanBuild:
		builds = []build{{name: "asan"}}
	case debugBuild:
		builds = []build{{name: "slabdebug"}, {name: "slabdebug+guard", env: []string{tracker.EnvVar + "=guard=1"}, guard: true}}
	}
	check := func(t *testing.T, out string, code int, o outcome, e expect, asanFault bool) {
		t.Helper()
		if asanBuild && !asanFault {
			checkASan(t, out, code, e)
		} else {
			checkOutcome(t, out, code, o, e)
		}
		if t.Failed() {
			t.Logf("the child's output:\n%s", out)
		}
	}
	for _, b := range builds {
		for _, row := range detectRows {
			for _, where := range []string{"same", "other"} {
				t.Run(b.name+"/"+row.name+"/"+where, func(t *testing.T) {
					t.Parallel()
					o := row.release
					if debugBuild {
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
					verb := "read after free"
					if guarded {
						verb = "use after free"
					}
					e := expect{
						marker:    row.name,
						title:     fmt.Sprintf(`slab: %s of *slab_test.%s field %s (pool "detect", slot `, verb, typ, row.field),
						later:     fmt.Sprintf(`slab: write after free to %s.%s of *slab_test.%s (pool "detect", slot `, typ, row.field, typ),
						asanTitle: fmt.Sprintf(`slab: (read|write) after free of \*slab_test\.%s field %s \(pool "detect", slot \d+\)`, typ, row.field),
						free:      free,
						alloc:     alloc,
						// Another goroutine's unsynchronised use of a
						// heap slot is a data race.
						raced: raceBuild && where == "other" && !guarded,
					}
					if raceBuild {
						// The race detector's nil check faults at the
						// pointee's start, which may name another field of
						// a guarded object.
						e.title = fmt.Sprintf(`slab: %s of *slab_test.%s field `, verb, typ)
					}
					out, code := runChild(t, row.name+"/"+where, b.env...)
					check(t, out, code, o, e, false)
				})
			}
		}
		for _, row := range scopedRows {
			for _, where := range []string{"same", "other"} {
				t.Run(b.name+"/"+row.name+"/"+where, func(t *testing.T) {
					t.Parallel()
					o := row.release
					if debugBuild {
						o = row.debug
					}
					if asanBuild && row.asanFault {
						o = atAccess
					}
					e := expect{marker: row.name, title: row.title, asanTitle: row.asanTitle, free: "detRelease", alloc: row.alloc}
					if raceBuild || asanBuild {
						// The nil check of -race and -asan builds faults
						// at the value's start: the element, not the field.
						e.title = strings.TrimSuffix(e.title, `.Y (pool "(scope memory)", slot `)
					}
					out, code := runChild(t, "scoped/"+row.name+"/"+where, b.env...)
					check(t, out, code, o, e, row.asanFault)
				})
			}
		}
		t.Run(b.name+"/scoped-middleware", func(t *testing.T) {
			t.Parallel()
			o := crash // default builds zero the object: its pointer is nil
			if debugBuild {
				o = atAccess
			}
			e := expect{
				marker:    "scoped-middleware",
				title:     `slab: read after free of *slab_test.detOrder field Customer (pool "detect", slot `,
				asanTitle: `slab: read after free of \*slab_test\.detOrder field Customer \(pool "detect", slot \d+\)`,
				free:      `Middleware\.func`,
				alloc:     "detAllocIn",
			}
			if raceBuild {
				e.title = `slab: read after free of *slab_test.detOrder field `
			}
			out, code := runChild(t, "scoped-middleware", b.env...)
			check(t, out, code, o, e, false)
		})
	}
}

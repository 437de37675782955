package tracker_test

import (
	"bytes"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

func TestKindMatchesSentinels(t *testing.T) {
	tests := []struct {
		kind tracker.Kind
		err  error
	}{
		{tracker.DoubleFree, slab.ErrDoubleFree},
		{tracker.Unallocated, slab.ErrDoubleFree},
		{tracker.RefOfFreed, slab.ErrDoubleFree},
		{tracker.ForeignFree, slab.ErrForeign},
		{tracker.ForeignPointer, slab.ErrForeign},
		{tracker.ScopedFree, slab.ErrScoped},
		{tracker.ScopedRef, slab.ErrScoped},
		{tracker.WriteAfterFree, tracker.ErrWriteAfterFree},
		{tracker.StaleRef, slab.ErrStaleRef},
		{tracker.Leak, tracker.ErrLeak},
		{tracker.Dropped, tracker.ErrLeak},
		{tracker.UseAfterFree, tracker.ErrUseAfterFree},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			v := &tracker.Violation{Kind: tt.kind}
			assert.ErrorIs(t, v, tt.err, "a %s matches the error default builds panic with for it", tt.kind)
			for _, other := range tests {
				if other.err != tt.err {
					assert.False(t, errors.Is(v, other.err), "a %s does not match %v", tt.kind, other.err)
				}
			}
		})
	}
}

func frame(fn, file string, line int) runtime.Frame {
	return runtime.Frame{Function: fn, File: file, Line: line}
}

// A write after free is found by a call that did not commit it: the
// report says so, puts the Free that the write came after first, and its
// SUMMARY names that Free, never the call that found the damage.
func TestViolationReport(t *testing.T) {
	v := &tracker.Violation{
		Kind: tracker.WriteAfterFree, Pool: "orders", Type: "*main.Order", Slot: 17, Addr: 0xc000100000,
		Op:     "Alloc",
		Detail: "the object was written after it was freed",
		Field:  "Lines[2]", Offset: 24, Got: []byte{7, 0, 0, 0}, Want: []byte{0x6b, 0x6b, 0x6b, 0x6b},
		Call:     tracker.Stack{frame("main.check", "/src/main.go", 30)},
		Free:     tracker.Stack{frame("main.release", "/src/main.go", 20), frame("main.main", "/src/main.go", 40)},
		FreeAge:  3 * time.Millisecond,
		Alloc:    tracker.Stack{frame("main.build", "/src/main.go", 10)},
		AllocAge: time.Second,
	}
	want := `slab: write after free to Order.Lines[2] of *main.Order (pool "orders", slot 17)
0xc000100000: the object was written after it was freed
Order.Lines[2] is bytes [24, 28) of the object:
    found    07 00 00 00
    expected 6b 6b 6b 6b

freed here, 3ms ago; the write came after this Free:
    #0 main.release /src/main.go:20
    #1 main.main /src/main.go:40

allocated here, 1s ago:
    #0 main.build /src/main.go:10

found here, by this Alloc, which did not write the object:
    #0 main.check /src/main.go:30

SUMMARY: slabtrack: write-after-free to Order.Lines[2] of an object freed at /src/main.go:20 in main.release (*main.Order, pool "orders")`
	assert.Equal(t, want, v.Error(), "the report blames no innocent call")

	v.Free, v.FreeAge = nil, 0
	assert.True(t, strings.HasSuffix(v.Error(), "\nSUMMARY: slabtrack: write-after-free to Order.Lines[2] (*main.Order, pool \"orders\")"),
		"without the Free's stack the SUMMARY names no place rather than the finder's:\n%s", v.Error())
}

// A report shows the allocation and free sections of the events that
// happened, and the "no stack recorded" note only in a section whose stack
// could have been recorded.
func TestViolationSections(t *testing.T) {
	alloc := tracker.Stack{frame("main.build", "/src/main.go", 10)}
	free := tracker.Stack{frame("main.release", "/src/main.go", 20)}
	call := tracker.Stack{frame("main.use", "/src/main.go", 30)}
	tests := []struct {
		name     string
		v        tracker.Violation
		contains []string
		lacks    []string
	}{
		{"another pool's Ref: no object, no sections",
			tracker.Violation{Kind: tracker.StaleRef, Op: "Deref", Call: call, Detail: "the Ref is from another pool"},
			[]string{"used here (this call):\n    #0 main.use"},
			[]string{"allocated here", "freed here", "no stack recorded"}},
		{"double free with stacks off: the events happened, the stacks were not recorded",
			tracker.Violation{Kind: tracker.DoubleFree, Op: "Free", AllocAge: 2 * time.Millisecond, FreeAge: time.Millisecond},
			[]string{"freed again here (this call):\n    (no stack recorded", "previously freed here, 1ms ago:\n    (no stack recorded", "allocated here, 2ms ago:\n    (no stack recorded"},
			nil},
		{"RefOf of a live object's freed predecessor: only what is known",
			tracker.Violation{Kind: tracker.RefOfFreed, Op: "RefOf", Call: call, Alloc: alloc, AllocAge: time.Millisecond},
			[]string{"passed to RefOf here (this call):", "allocated here, 1ms ago:"},
			[]string{"freed here", "freed again", "no stack recorded"}},
		{"foreign pointer passed to RefOf is not a free",
			tracker.Violation{Kind: tracker.ForeignPointer, Op: "RefOf", Call: call},
			[]string{"passed to RefOf here (this call):", "SUMMARY: slabtrack: foreign-pointer /src/main.go:30 in main.use"},
			[]string{"freed", "no stack recorded"}},
		{"double free with every stack",
			tracker.Violation{Kind: tracker.DoubleFree, Op: "Free", Call: call, Free: free, FreeAge: time.Millisecond, Alloc: alloc, AllocAge: 2 * time.Millisecond},
			[]string{"freed again here (this call):\n    #0 main.use", "previously freed here, 1ms ago:\n    #0 main.release", "allocated here, 2ms ago:\n    #0 main.build"},
			[]string{"no stack recorded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.v.Pool, tt.v.Type = "orders", "*main.Order"
			report := tt.v.Error()
			for _, s := range tt.contains {
				assert.Contains(t, report, s, "the report has %q", s)
			}
			for _, s := range tt.lacks {
				assert.NotContains(t, report, s, "the report has no %q", s)
			}
		})
	}
}

func TestLeakReport(t *testing.T) {
	v := &tracker.Violation{Kind: tracker.Leak, Sites: []tracker.Site{
		{Pool: "orders", Type: "*main.Order", Objects: 3, Bytes: 192, Stack: tracker.Stack{frame("main.build", "/src/main.go", 10)},
			MinAge: time.Millisecond, MaxAge: 2 * time.Millisecond},
		{Pool: "items", Type: "*main.Item", Objects: 1, Bytes: 32, Dropped: true, Stack: tracker.Stack{frame("main.item", "/src/main.go", 12)},
			MinAge: time.Second, MaxAge: time.Second},
	}}
	report := v.Error()
	assert.True(t, strings.HasPrefix(report, "slab: leak: 4 object(s), 224 bytes not freed\n"), "the title totals the leak: %q", report)
	assert.Contains(t, report, "\n3 object(s), 192 bytes of *main.Order (pool \"orders\") allocated from (age 1ms to 2ms):\n    #0 main.build /src/main.go:10\n",
		"a site reads like LeakSanitizer's")
	assert.Contains(t, report, "1 object(s) dropped without Free, 32 bytes of *main.Item", "dropped objects are told apart")
	assert.True(t, strings.HasSuffix(report, "SUMMARY: slabtrack: 4 object(s), 224 bytes leaked in 2 allocation site(s), 1 of them dropped without Free."),
		"the SUMMARY totals the sites: %q", report)
}

// Default builds count live objects per pool: their report speaks of pools,
// not of allocation sites they do not record.
func TestLeakReportReleaseWording(t *testing.T) {
	if debugBuild {
		t.Skip("debug builds record the sites; TestLeakReport checks their wording")
	}
	v := &tracker.Violation{Kind: tracker.Leak, Sites: []tracker.Site{
		{Pool: "orders", Type: "*main.Order", Objects: 3, Bytes: 120},
		{Pool: "items", Type: "*main.Item", Objects: 2, Bytes: 64},
	}}
	report := v.Error()
	assert.Contains(t, report, "\n3 object(s), 120 bytes of *main.Order (pool \"orders\") still allocated\n"+
		"    (default builds record where objects were allocated only for pools that sample (slab.WithSampling): rebuild with -tags slabdebug for the sites)\n",
		"a pool's count is not called a site")
	assert.NotContains(t, report, "allocated from", "no site is claimed")
	assert.True(t, strings.HasSuffix(report, "SUMMARY: slabtrack: 5 object(s), 184 bytes leaked in 2 pool(s)."), "the SUMMARY counts pools: %q", report)
}

// A pool that samples (WithSampling) has the sites of its sampled objects
// after its count, as estimates that the totals leave out.
func TestLeakReportReleaseSampledWording(t *testing.T) {
	if debugBuild {
		t.Skip("debug builds record every site; TestLeakReport checks their wording")
	}
	v := &tracker.Violation{Kind: tracker.Leak, Sites: []tracker.Site{
		{Pool: "orders", Type: "*main.Order", Objects: 3000, Bytes: 120000},
		{Pool: "orders", Type: "*main.Order", Objects: 2048, Bytes: 81920, Sampled: 2, MinAge: time.Millisecond, MaxAge: 2 * time.Millisecond,
			Stack: tracker.Stack{frame("main.build", "/src/main.go", 10)}},
		{Pool: "items", Type: "*main.Item", Objects: 2, Bytes: 64},
		{Pool: "items", Type: "*main.Item", Objects: 2, Bytes: 64, Sampled: 2, Stack: tracker.Stack{frame("main.item", "/src/main.go", 20)}},
	}}
	report := v.Error()
	assert.Contains(t, report, "\n3000 object(s), 120000 bytes of *main.Order (pool \"orders\") still allocated\n"+
		"    (the pool samples: the sites below are those of its sampled objects; rebuild with -tags slabdebug for every site)\n"+
		"\nabout 2048 of them (2 sampled, one in about 1024) allocated from (age 1ms to 2ms):\n    #0 main.build /src/main.go:10\n",
		"the sampled site follows the pool's count, as an estimate")
	assert.Contains(t, report, "\n2 of them (each sampled) allocated from:\n    #0 main.item /src/main.go:20\n", "a pool that samples every object has exact sites")
	assert.True(t, strings.HasSuffix(report, "SUMMARY: slabtrack: 3002 object(s), 120064 bytes leaked in 2 pool(s)."), "the totals are the pools' counts: %q", report)
}

func TestStackHas(t *testing.T) {
	s := tracker.Stack{
		frame("github.com/x/y.allocOrder", "", 0),
		frame("main.(*Server).handle", "", 0),
	}
	assert.True(t, s.Has("allocOrder"), "a function is found by its name")
	assert.True(t, s.Has("y.allocOrder"), "or by a qualified suffix")
	assert.True(t, s.Has("(*Server).handle"), "methods are found")
	assert.True(t, tracker.Stack{frame("main.freeQ[...]", "", 0)}.Has("freeQ"), "generic functions are found by their name")
	assert.False(t, s.Has("Order"), "a partial name does not match")
	assert.False(t, tracker.Stack(nil).Has("allocOrder"), "an empty stack has nothing")
}

func TestHandler(t *testing.T) {
	v := &tracker.Violation{Kind: tracker.DoubleFree}
	require.True(t, tracker.Panics(), "by default a violation panics")
	assert.PanicsWithError(t, v.Error(), func() { tracker.Report(v) }, "Report panics with the violation")

	var got []*tracker.Violation
	prev := tracker.SetHandler(func(v *tracker.Violation) { got = append(got, v) })
	assert.Nil(t, prev, "there was no handler before")
	assert.False(t, tracker.Panics(), "a handler is set")
	assert.NotPanics(t, func() { tracker.Report(v) }, "Report hands the violation to the handler")
	assert.Equal(t, []*tracker.Violation{v}, got, "the handler received it")
	assert.NotNil(t, tracker.SetHandler(nil), "SetHandler returns the handler it replaces")
	assert.True(t, tracker.Panics(), "SetHandler(nil) restores panicking")
}

// The default handling does not panic with a violation that the calling
// goroutine did not commit: it writes a write after free to standard error,
// as the race detector writes its reports, and keeps it for Check.
func TestHandlerDefaultKeepsWritesAfterFree(t *testing.T) {
	var buf bytes.Buffer
	defer tracker.SetStderr(&buf)()
	require.NoError(t, tracker.Check(), "nothing is kept before")

	v := &tracker.Violation{Kind: tracker.WriteAfterFree, Pool: "orders", Type: "*main.Order", Op: "Alloc", Field: "ID"}
	assert.NotPanics(t, func() { tracker.Report(v) }, "the innocent call that found the write does not panic")
	assert.Contains(t, buf.String(), "WARNING: slabtrack: write-after-free found by a call that did not commit it", "the report goes to standard error")
	assert.Contains(t, buf.String(), "slab: write after free to Order.ID", "with the whole report")

	err := tracker.Check()
	var got *tracker.Violation
	require.ErrorAs(t, err, &got, "Check returns the kept report")
	assert.Same(t, v, got, "the very violation")
	assert.NoError(t, tracker.Check(), "once")

	d := &tracker.Violation{Kind: tracker.Dropped, Pool: "orders", Type: "*main.Order"}
	buf.Reset()
	assert.NotPanics(t, func() { tracker.Report(d) }, "a dropped object does not panic, on the cleanup goroutine least of all")
	assert.Empty(t, buf.String(), "Find reports dropped objects; the default handling adds nothing")
}

// Past what the default handling keeps, Check counts the writes after free
// it could only write to standard error, in a sentence of its own.
func TestCheckCountsWritesItCouldNotKeep(t *testing.T) {
	var buf bytes.Buffer
	defer tracker.SetStderr(&buf)()
	require.NoError(t, tracker.Check(), "nothing is kept before")
	for range 300 {
		tracker.Report(&tracker.Violation{Kind: tracker.WriteAfterFree, Pool: "orders", Type: "*main.Order", Op: "Alloc", Field: "ID"})
	}
	err := tracker.Check()
	require.ErrorIs(t, err, tracker.ErrWriteAfterFree, "Check returns the writes after free")
	assert.Contains(t, err.Error(), "\nslab: write after free: 44 more write(s) after free were found and written to standard error, not kept",
		"the writes not kept are counted in a sentence")
}

// LogAndContinue logs each violation as one record: with a text handler,
// one line, holding the stacks one line each, not a report with escaped
// newlines.
func TestLogAndContinue(t *testing.T) {
	var buf bytes.Buffer
	h := tracker.LogAndContinue(slog.New(slog.NewTextHandler(&buf, nil)))
	h(&tracker.Violation{
		Kind: tracker.DoubleFree, Pool: "orders", Type: "*main.Order", Slot: 3, Addr: 0xc000100000, Op: "Free",
		Detail:   "the object was already freed; its slot is in the quarantine",
		Call:     tracker.Stack{frame("main.retry", "/src/main.go", 30), frame("main.main", "/src/main.go", 40)},
		Free:     tracker.Stack{frame("main.release", "/src/main.go", 20)},
		FreeAge:  time.Millisecond,
		Alloc:    tracker.Stack{frame("main.build", "/src/main.go", 10)},
		AllocAge: 2 * time.Millisecond,
		Err:      errors.New(`slab: double free of *main.Order (pool "orders", slot 3)`),
	})
	out := buf.String()
	assert.Equal(t, 1, strings.Count(out, "\n"), "one line: %q", out)
	assert.NotContains(t, out, `\n`, "no escaped newlines: %q", out)
	for _, want := range []string{
		"level=ERROR", `msg="slabtrack: double-free"`, "pool=orders", "slot=3", "addr=0xc000100000",
		`summary="double-free /src/main.go:30 in main.retry (*main.Order, pool \"orders\")"`,
		`call="main.retry /src/main.go:30 < main.main /src/main.go:40"`,
		`freed="main.release /src/main.go:20" freed_ago=1ms`,
		`allocated="main.build /src/main.go:10" allocated_ago=2ms`,
		`detail="the object was already freed; its slot is in the quarantine"`,
		`error="slab: double free of *main.Order (pool \"orders\", slot 3)"`,
	} {
		assert.Contains(t, out, want, "the log line holds %s", want)
	}
}

// A write after free's log record names the call that found it found_by,
// not call: it did not commit it.
func TestLogAndContinueWriteAfterFree(t *testing.T) {
	var buf bytes.Buffer
	h := tracker.LogAndContinue(slog.New(slog.NewTextHandler(&buf, nil)))
	h(&tracker.Violation{
		Kind: tracker.WriteAfterFree, Pool: "orders", Type: "*main.Order", Op: "Alloc", Field: "Total",
		Got: []byte{1, 0}, Want: []byte{0x6b, 0x6b},
		Call: tracker.Stack{frame("main.innocent", "/src/main.go", 50)},
		Free: tracker.Stack{frame("main.release", "/src/main.go", 20)}, FreeAge: time.Millisecond,
	})
	out := buf.String()
	assert.Equal(t, 1, strings.Count(out, "\n"), "one line: %q", out)
	for _, want := range []string{`found_by="main.innocent /src/main.go:50"`, `field=Order.Total`, `found="01 00"`, `expected="6b 6b"`,
		`summary="write-after-free to Order.Total of an object freed at /src/main.go:20 in main.release (*main.Order, pool \"orders\")"`} {
		assert.Contains(t, out, want, "the log line holds %s", want)
	}
	assert.NotContains(t, out, " call=", "the finder is not called the call that misused the object")
}

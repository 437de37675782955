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
		{tracker.ForeignFree, slab.ErrForeign},
		{tracker.ScopedFree, slab.ErrScoped},
		{tracker.WriteAfterFree, tracker.ErrWriteAfterFree},
		{tracker.StaleRef, slab.ErrStaleRef},
		{tracker.Leak, tracker.ErrLeak},
		{tracker.Dropped, tracker.ErrLeak},
		{tracker.UseAfterFree, tracker.ErrUseAfterFree},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			v := &tracker.Violation{Kind: tt.kind}
			assert.ErrorIs(t, v, tt.err, "a %s matches its sentinel", tt.kind)
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

func TestViolationReport(t *testing.T) {
	v := &tracker.Violation{
		Kind: tracker.WriteAfterFree, Pool: "orders", Type: "*main.Order", Slot: 17, Addr: 0xc000100000,
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

detected here (this call):
    #0 main.check /src/main.go:30

freed here, 3ms ago:
    #0 main.release /src/main.go:20
    #1 main.main /src/main.go:40

allocated here, 1s ago:
    #0 main.build /src/main.go:10

SUMMARY: slabtrack: write-after-free /src/main.go:30 in main.check (*main.Order, pool "orders")`
	assert.Equal(t, want, v.Error(), "the report reads like AddressSanitizer's")
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

func TestStackHas(t *testing.T) {
	s := tracker.Stack{
		frame("github.com/x/y.allocOrder", "", 0),
		frame("main.(*Server).handle", "", 0),
	}
	assert.True(t, s.Has("allocOrder"), "a function is found by its name")
	assert.True(t, s.Has("y.allocOrder"), "or by a qualified suffix")
	assert.True(t, s.Has("(*Server).handle"), "methods are found")
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

func TestLogAndContinue(t *testing.T) {
	var buf bytes.Buffer
	h := tracker.LogAndContinue(slog.New(slog.NewTextHandler(&buf, nil)))
	h(&tracker.Violation{Kind: tracker.DoubleFree, Pool: "orders", Type: "*main.Order", Slot: 3})
	out := buf.String()
	for _, want := range []string{"level=ERROR", `msg="slabtrack: double-free"`, "pool=orders", "slot=3", "SUMMARY: slabtrack: double-free"} {
		assert.Contains(t, out, want, "the log line holds %s", want)
	}
}

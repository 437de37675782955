package slab_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// Sampled guard pages (WithGuardSampling) in default builds.

type sample struct {
	A, B, C float64
	N       int64
}

var sampleSink any

//go:noinline
func allocSample(p *slab.Pool[sample]) *sample {
	x := p.Alloc()
	x.A, x.N = 1, 2
	return x
}

//go:noinline
func freeSample(p *slab.Pool[sample], x *sample) { p.Free(x) }

func requireGuardSampling(t *testing.T) {
	t.Helper()
	if debugBuild {
		t.Skip("debug builds ignore WithGuardSampling: WithGuardPages puts every object on guard pages there")
	}
	if runtime.GOOS != "linux" {
		t.Skip("guard pages are Linux only")
	}
}

// guardedSample allocates from p until an object lands on a guard page.
func guardedSample(t *testing.T, p *slab.Pool[sample]) (x *sample, others []*sample) {
	t.Helper()
	for range 10000 {
		y := allocSample(p)
		if slab.OnGuardPage(p, y) {
			return y, others
		}
		others = append(others, y)
	}
	t.Fatal("no object was placed on a guard page")
	return nil, nil
}

func TestGuardSamplingFaultsAtTheAccess(t *testing.T) {
	requireGuardSampling(t)
	p := slab.New[sample](slab.WithName(t.Name()), slab.WithGuardSampling(1))
	x, others := guardedSample(t, p)
	done := make(chan any)
	go func() {
		defer func() { done <- recover() }()
		tracker.PanicOnFault()
		defer tracker.CatchFaults()
		freeSample(p, x)
		sampleSink = x.C // access:sampled guard
	}()
	r := <-done
	v, ok := r.(*tracker.Violation)
	require.True(t, ok, "the read of a freed sampled object panics with a *tracker.Violation, got %T: %v", r, r)
	assert.Equal(t, tracker.UseAfterFree, v.Kind, "the kind")
	assert.True(t, v.Guarded, "on a guard page")
	field := "C"
	if raceBuild || asanBuild {
		field = "A" // the nil check that -race and -asan builds emit reads offset 0 first
	}
	assert.Equal(t, field, v.Field, "the field read")
	assert.True(t, strings.HasPrefix(v.Error(), fmt.Sprintf("slab: use after free of *slab_test.sample field %s (pool %q, slot ", field, t.Name())), "the title:\n%v", v)
	require.NotEmpty(t, v.Call, "the access stack")
	assert.Contains(t, v.Call.String(), "TestGuardSamplingFaultsAtTheAccess.func1", "starts in the goroutine that read")
	assert.True(t, v.Free.Has("freeSample"), "the free stack, recorded for a sampled object in a default build:\n%v", v)
	assert.True(t, v.Alloc.Has("allocSample"), "the allocation stack:\n%v", v)
	for _, y := range others {
		p.Free(y)
	}
	assert.Zero(t, p.Stats().Live, "the sampled object counted as freed")
}

func TestGuardSamplingKeepsTheBookkeeping(t *testing.T) {
	requireGuardSampling(t)
	p := slab.New[sample](slab.WithName(t.Name()), slab.WithGuardSampling(1))
	x, others := guardedSample(t, p)
	assert.EqualValues(t, len(others)+1, p.Stats().Live, "an object on a guard page is live")
	x.B = 7
	ref := p.RefOf(x)
	assert.Same(t, x, p.Deref(ref), "a Ref to it names it")
	p.FreeRef(ref)
	assert.EqualValues(t, len(others), p.Stats().Live, "FreeRef frees it")
	err := recoverErr(t, func() { p.Free(x) })
	assert.ErrorIs(t, err, slab.ErrDoubleFree, "a double free of it panics")
	assert.Contains(t, err.Error(), "on a guard page", "saying where the object was")

	// Up to the ring's size objects are on guard pages at once; more
	// stay in their slabs.
	var held []*sample
	onGuard := 0
	for range 200 {
		y := allocSample(p)
		held = append(held, y)
		if slab.OnGuardPage(p, y) {
			onGuard++
		}
	}
	assert.LessOrEqual(t, onGuard, 64, "at most 64 objects are on guard pages at once")
	assert.Positive(t, onGuard, "objects go on guard pages while the ring has room")
	for _, y := range append(held, others...) {
		p.Free(y)
	}
	assert.Zero(t, p.Stats().Live, "everything is freed")
	assert.Zero(t, p.Stats().GuardFallbacks, "every freed object on a guard page was protected")
	require.NoError(t, slab.CheckInvariants(p), "the bookkeeping is right")
}

func TestWithGuardSamplingOption(t *testing.T) {
	requirePanicIs(t, nil, func() { slab.New[sample](slab.WithGuardSampling(0)) }, "WithGuardSampling(0)")
	requirePanicIs(t, nil, func() { slab.New[invoiceLike](slab.WithGuardSampling(100)) }, "holds pointers")
	requirePanicIs(t, nil, func() { slab.New[invoiceLike](slab.WithGuardPages(true)) }, "holds pointers")
	slab.New[invoiceLike](slab.WithGuardPages(false)) // off is fine for any type
}

type invoiceLike struct {
	ID   int64
	Note string
}

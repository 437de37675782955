package slab_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
)

//go:noinline
func allocSampledOrder(p *slab.Pool[reqOrder]) *reqOrder { return p.Alloc() }

func TestSamplingRecordsAboutOneInN(t *testing.T) {
	if !slab.ScopesKeepSlots {
		t.Skip("debug builds record every stack, and ignore WithSampling")
	}
	const every, n = 16, 20000
	p := slab.New[reqOrder](slab.WithSampling(every))
	xs := make([]*reqOrder, n)
	for i := range xs {
		xs[i] = allocSampledOrder(p)
		xs[i].WeightGrams = int64(i + 1)
	}
	sites := slab.SampledSites(p)
	// The sampled count is a sum of exponential gaps: mean n/every = 1250,
	// standard deviation about 35; the bounds are 10 deviations away.
	assert.InDelta(t, n/every, len(sites), 350, "about one object in %d is sampled", every)
	for _, fns := range sites {
		require.NotEmpty(t, fns, "a sampled object has a stack")
		assert.True(t, strings.HasSuffix(fns[0], ".allocSampledOrder"), "the stack starts at the caller of Alloc: %v", fns)
	}
	require.NoError(t, slab.CheckInvariants(p), "sampled objects keep the bookkeeping right")
	assert.EqualValues(t, n, p.Stats().Live, "sampled objects are live")

	// Sampled objects work with Refs and free like any other.
	r := p.RefOf(xs[0])
	assert.Same(t, xs[0], p.Deref(r), "a Ref to an object, sampled or not, names it")
	p.FreeRef(r)
	for _, x := range xs[1:] {
		p.Free(x)
	}
	assert.Empty(t, slab.SampledSites(p), "Free forgets the records")
	assert.Zero(t, p.Stats().Live, "everything is freed")
	err := recoverErr(t, func() { p.Free(xs[1]) })
	assert.ErrorIs(t, err, slab.ErrDoubleFree, "a double free of a sampled object is caught")
	require.NoError(t, slab.CheckInvariants(p), "the bookkeeping is right after the frees")
}

func TestSamplingOff(t *testing.T) {
	p := slab.New[reqOrder]()
	for range 5000 {
		p.Alloc()
	}
	assert.Empty(t, slab.SampledSites(p), "a pool without WithSampling records nothing")
}

func TestWithSamplingOption(t *testing.T) {
	err := recoverErr(t, func() { slab.New[reqOrder](slab.WithSampling(-1)) })
	assert.Error(t, err, "a negative period panics")
	assert.Contains(t, err.Error(), "slab: WithSampling(-1)", "the message names the option")
}

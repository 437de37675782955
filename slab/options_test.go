package slab_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
)

func TestNewPanicsOnInvalidOptions(t *testing.T) {
	cases := []struct {
		name     string
		opt      slab.Option
		mentions []string
	}{
		{"WithMaxObjects(0)", slab.WithMaxObjects(0), []string{"WithMaxObjects(0)"}},
		{"WithMaxObjects(-1)", slab.WithMaxObjects(-1), []string{"WithMaxObjects(-1)"}},
		{"WithSlotsPerSlab(0)", slab.WithSlotsPerSlab(0), []string{"WithSlotsPerSlab(0)"}},
		{"WithSlotsPerSlab(-64)", slab.WithSlotsPerSlab(-64), []string{"WithSlotsPerSlab(-64)"}},
		{"WithName(\"\")", slab.WithName(""), []string{"WithName"}},
		{"WithIdleTrim(-1)", slab.WithIdleTrim(-1), []string{"WithIdleTrim(-1)"}},
		{"nil Option", nil, []string{"nil Option", "slab_test.node"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			requirePanicIs(t, nil, func() { slab.New[node](tc.opt) }, tc.mentions...)
		})
	}
}

func TestValidOptionsAreAccepted(t *testing.T) {
	cases := []struct {
		name  string
		opts  []slab.Option
		check func(t *testing.T, p *slab.Pool[node])
	}{
		{"no options", nil, func(t *testing.T, p *slab.Pool[node]) {
			assert.Equal(t, "slab_test.node", p.Stats().Name, "the default name is the type's")
		}},
		{"WithName", []slab.Option{slab.WithName("orders")}, func(t *testing.T, p *slab.Pool[node]) {
			assert.Equal(t, "orders", p.Stats().Name, "Stats names the pool as configured")
			assert.Equal(t, "orders", p.Stats().Name, "Stats carries the configured name")
			assert.Equal(t, nodeType, p.Stats().Type, "Stats carries the name of *T, T being the element type")
		}},
		{"WithSlotsPerSlab of many slots", []slab.Option{slab.WithSlotsPerSlab(5000)}, func(t *testing.T, p *slab.Pool[node]) {
			assert.GreaterOrEqual(t, slab.SlotsPerSlab(p), 5000, "a slab holds at least the slots asked for")
			x := p.Alloc()
			assert.Equal(t, int64(slab.SlotsPerSlab(p)), p.Stats().Capacity, "the first slab has that many slots")
			p.Free(x)
		}},
		{"WithSlotsPerSlab(1) rounds up to the smallest slab", []slab.Option{slab.WithSlotsPerSlab(1)}, func(t *testing.T, p *slab.Pool[node]) {
			assert.Greater(t, slab.SlotsPerSlab(p), 1, "a slab is never smaller than its minimum size")
			assert.Less(t, slab.SlotsPerSlab(p), slab.SlotsPerSlab(slab.New[node]()),
				"the smallest slab is smaller than the default one")
		}},
		{"WithMaxObjects(1)", []slab.Option{slab.WithMaxObjects(1)}, func(t *testing.T, p *slab.Pool[node]) {
			x, err := p.TryAlloc()
			require.NoError(t, err, "the first object fits the bound")
			_, err = p.TryAlloc()
			assert.ErrorIs(t, err, slab.ErrExhausted, "the second object exceeds the bound")
			p.Free(x)
		}},
		{"WithIdleTrim(0)", []slab.Option{slab.WithIdleTrim(0)}, func(t *testing.T, p *slab.Pool[node]) {
			p.Free(p.Alloc())
			assert.Zero(t, p.Stats().Live, "a pool without automatic trimming works")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var p *slab.Pool[node]
			require.NotPanics(t, func() { p = slab.New[node](tc.opts...) }, "New accepts valid options")
			tc.check(t, p)
		})
	}
}

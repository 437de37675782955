package slab_test

import (
	"errors"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// The messages of misuse, in every build: each says what happened and no
// more than the build knows. Default builds keep no history per slot, so
// where two causes look the same to them, the message names both; debug
// builds know which, and their report (a *tracker.Violation) says so.

//go:noinline
func refOfNode(p *slab.Pool[node], x *node) slab.Ref[node] { return p.RefOf(x) }

// misuseCase is one misuse and what its panic must say.
type misuseCase struct {
	name string
	// commit prepares the misuse on p and returns the call that commits it.
	commit  func(p *slab.Pool[node]) func()
	err     error
	release []string // the default build's message contains each
	debug   []string // the debug build's report contains each
	kind    tracker.Kind
	never   []string // no build's message contains any
}

func misuseCases() []misuseCase {
	freed := func(p *slab.Pool[node]) *node {
		x := p.Alloc()
		p.Free(x)
		return x
	}
	// The slot after the first one allocated: free, and never allocated.
	neverAllocated := func(p *slab.Pool[node]) *node {
		return slab.Interior(p, p.Alloc(), unsafe.Sizeof(node{}))
	}
	return []misuseCase{
		{
			name:    "double free",
			commit:  func(p *slab.Pool[node]) func() { x := freed(p); return func() { p.Free(x) } },
			err:     slab.ErrDoubleFree,
			release: []string{`slab: double free of *slab_test.node (pool "misuse", slot `, "the slot is already free", "a stale pointer", "never allocated", "-tags slabdebug"},
			debug:   []string{`slab: double free of *slab_test.node (pool "misuse", slot `, "the object was already freed", "previously freed here"},
			kind:    tracker.DoubleFree,
		},
		{
			name:    "Free of a slot never allocated",
			commit:  func(p *slab.Pool[node]) func() { x := neverAllocated(p); return func() { p.Free(x) } },
			err:     slab.ErrDoubleFree,
			release: []string{"slab: double free of", "or the slot was never allocated"},
			debug:   []string{"slab: Free of *slab_test.node", "a slot that was never allocated", "SUMMARY: slabtrack: unallocated-slot"},
			kind:    tracker.Unallocated,
		},
		{
			name:    "RefOf of a new(T)",
			commit:  func(p *slab.Pool[node]) func() { return func() { refOfNode(p, new(node)) } },
			err:     slab.ErrForeign,
			release: []string{"slab: pointer the pool does not own: *slab_test.node 0x", `passed to RefOf of pool "misuse" is not in any slab`},
			debug:   []string{"passed to RefOf here (this call):", "SUMMARY: slabtrack: foreign-pointer"},
			kind:    tracker.ForeignPointer,
			never:   []string{"free of", "freed here (this call)"},
		},
		{
			name:    "RefOf of a freed object",
			commit:  func(p *slab.Pool[node]) func() { x := freed(p); return func() { refOfNode(p, x) } },
			err:     slab.ErrDoubleFree,
			release: []string{"slab: RefOf of an unallocated *slab_test.node", "the object was freed, or the slot never allocated"},
			debug:   []string{"slab: RefOf of a freed *slab_test.node", "passed to RefOf here (this call):", "SUMMARY: slabtrack: refof-freed"},
			kind:    tracker.RefOfFreed,
			never:   []string{"double free", "freed again"},
		},
		{
			name:    "RefOf of a slot never allocated",
			commit:  func(p *slab.Pool[node]) func() { x := neverAllocated(p); return func() { refOfNode(p, x) } },
			err:     slab.ErrDoubleFree,
			release: []string{"slab: RefOf of an unallocated *slab_test.node", "or the slot never allocated"},
			debug:   []string{"slab: RefOf of *slab_test.node", "a slot that was never allocated"},
			kind:    tracker.Unallocated,
			never:   []string{"double free"},
		},
		{
			name: "RefOf of a scoped object",
			commit: func(p *slab.Pool[node]) func() {
				s := slab.NewScope()
				x := p.AllocIn(s)
				scopes = append(scopes, s)
				return func() { refOfNode(p, x) }
			},
			err:     slab.ErrScoped,
			release: []string{"slab: object belongs to a scope: RefOf of *slab_test.node", "allocated with AllocIn"},
			debug:   []string{"passed to RefOf here (this call):", "SUMMARY: slabtrack: scoped-ref"},
			kind:    tracker.ScopedRef,
			never:   []string{"Free of"},
		},
	}
}

// scopes holds the scopes that misuse cases left open, for
// TestMisuseMessages to release.
var scopes []*slab.Scope

func TestMisuseMessages(t *testing.T) {
	defer func() {
		for _, s := range scopes {
			s.Release()
		}
		scopes = nil
	}()
	for _, tc := range misuseCases() {
		t.Run(tc.name, func(t *testing.T) {
			p := slab.New[node](slab.WithName("misuse"))
			call := tc.commit(p)
			before := p.Stats()
			err := requirePanicIs(t, tc.err, call)
			msg := err.Error()
			want := tc.release
			var v *tracker.Violation
			if debugBuild {
				require.True(t, errors.As(err, &v), "debug builds panic with a *tracker.Violation")
				assert.Equal(t, tc.kind, v.Kind, "the kind names what happened: %s", msg)
				want = tc.debug
			}
			for _, s := range want {
				assert.Contains(t, msg, s, "the message says %q", s)
			}
			for _, s := range tc.never {
				assert.NotContains(t, msg, s, "the message does not say %q", s)
			}
			assert.Equal(t, before, p.Stats(), "the call that panicked changed nothing")
			assert.NoError(t, slab.CheckInvariants(p), "the bookkeeping is intact")
		})
	}
}

// A nil scope gets its own error, ErrNilScope, and says so: it does not
// claim a release that did not happen. AllocIn panics with it; TryAllocIn
// returns it.
func TestMisuseNilScope(t *testing.T) {
	p := slab.New[node](slab.WithName("misuse"))
	err := requirePanicIs(t, slab.ErrNilScope, func() { p.AllocIn(nil) })
	assert.Equal(t, `slab: nil scope: AllocIn of *slab_test.node (pool "misuse") with a nil *Scope (a context without a scope?)`, err.Error(),
		"the message names the nil scope")
	assert.NotErrorIs(t, err, slab.ErrInvalidScope, "a nil scope is not a scope taken back by its ScopePool")

	x, err := p.TryAllocIn(nil)
	require.ErrorIs(t, err, slab.ErrNilScope, "TryAllocIn returns ErrNilScope for a nil scope")
	assert.Equal(t, `slab: nil scope: TryAllocIn of *slab_test.node (pool "misuse") with a nil *Scope (a context without a scope?)`, err.Error(),
		"the error names the call and the nil scope")
	assert.Nil(t, x, "TryAllocIn returns no object with its error")
	assert.Zero(t, p.Stats().Live, "the refused allocations are not counted")
}

// Item 7: a full bounded pool says who holds its objects where the build
// knows (debug builds name the allocation sites, the most objects first),
// and where to look where it does not.
func TestMisuseExhaustedNamesHolders(t *testing.T) {
	p := slab.New[node](slab.WithName("bounded"), slab.WithMaxObjects(5))
	held := fillFromTwoSites(p)
	x, err := p.TryAlloc()
	require.Nil(t, x, "no object beyond the bound")
	require.ErrorIs(t, err, slab.ErrExhausted, "TryAlloc returns ErrExhausted")
	msg := err.Error()
	assert.True(t, strings.HasPrefix(msg, `slab: pool exhausted: TryAlloc of *slab_test.node (pool "bounded"): the pool has 5 live objects, its bound`), "the first line: %q", msg)
	if debugBuild {
		lines := strings.Split(msg, "\n")
		require.Len(t, lines, 3, "two sites, one line each: %q", msg)
		assert.Contains(t, lines[1], "3 object(s), allocated ", "the site with the most objects first")
		assert.Contains(t, lines[1], "slab_test.allocNodeA ", "named by its function and line")
		assert.Contains(t, lines[2], "2 object(s)", "then the next")
		assert.Contains(t, lines[2], "slab_test.allocNodeB ", "named by its function")
	} else {
		assert.Contains(t, msg, "default builds record where objects were allocated only for pools that sample (WithSampling): a build with -tags slabdebug names the sites",
			"the message says where to find the holders")
	}
	v := catch(func() { p.Alloc() })
	require.NotNil(t, v, "Alloc panics at the bound")
	assert.ErrorIs(t, v.(error), slab.ErrExhausted, "with the same error")
	assert.Contains(t, v.(error).Error(), "pool exhausted: Alloc of *slab_test.node", "naming Alloc")
	for _, x := range held {
		p.Free(x)
	}
}

// A pool that samples every allocation (WithSampling(1)) names the sites in
// every build; one that samples one in 1000 says that none of its five
// objects was sampled, in default builds.
func TestMisuseExhaustedNamesSampledHolders(t *testing.T) {
	p := slab.New[node](slab.WithName("bounded"), slab.WithMaxObjects(5), slab.WithSampling(1))
	held := fillFromTwoSites(p)
	_, err := p.TryAlloc()
	require.ErrorIs(t, err, slab.ErrExhausted, "TryAlloc returns ErrExhausted")
	msg := err.Error()
	lines := strings.Split(msg, "\n")
	require.Len(t, lines, 3, "two sites, one line each: %q", msg)
	assert.Contains(t, lines[1], "3 object(s), allocated ", "the site with the most objects first")
	assert.Contains(t, lines[1], "slab_test.allocNodeA ", "named by its function and line")
	assert.Contains(t, lines[2], "slab_test.allocNodeB ", "then the next")
	if !debugBuild {
		assert.Contains(t, lines[0], "the sampled live objects (the pool records the allocation stack of every object) came from", "the message says what was recorded")
	}
	for _, x := range held {
		p.Free(x)
	}

	if debugBuild {
		return // debug builds record every object
	}
	p = slab.New[node](slab.WithName("bounded"), slab.WithMaxObjects(5), slab.WithSampling(1000))
	held = held[:0]
	for range 5 {
		held = append(held, allocNodeA(p))
	}
	_, err = p.TryAlloc()
	require.ErrorIs(t, err, slab.ErrExhausted, "TryAlloc returns ErrExhausted")
	assert.Contains(t, err.Error(), "none of them was sampled (the pool records the allocation stack of about one object in 1000)",
		"the message says that the pool samples and caught none of them")
	for _, x := range held {
		p.Free(x)
	}
}

// fillFromTwoSites allocates three objects at allocNodeA and two at
// allocNodeB.
func fillFromTwoSites(p *slab.Pool[node]) []*node {
	var held []*node
	for range 3 {
		held = append(held, allocNodeA(p))
	}
	for range 2 {
		held = append(held, allocNodeB(p))
	}
	return held
}

//go:noinline
func allocNodeA(p *slab.Pool[node]) *node { return p.Alloc() }

//go:noinline
func allocNodeB(p *slab.Pool[node]) *node { return p.Alloc() }

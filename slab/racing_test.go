package slab_test

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
)

// Racing double frees in default builds. Two Frees of one live object on
// two goroutines can both pass the state check, which costs no atomic
// instruction. Default builds then either catch the second (ErrDoubleFree)
// or absorb it: the slot is freed once, and the pool must stay exact,
// usable, and never hand the slot to two owners. -race reports the race
// itself (tracker's TestRaceReportsRacingDoubleFree), and debug builds
// catch it every time with a compare-and-swap (TestDebugConcurrentDoubleFree).

// releaseOnly skips t in debug builds, whose compare-and-swap on each
// slot's state lets no racing double free through: these tests replay
// what default builds let through.
func releaseOnly(t *testing.T) {
	t.Helper()
	if debugBuild {
		t.Skip("debug builds catch every racing double free (TestDebugConcurrentDoubleFree); this replays what default builds absorb")
	}
}

// A racing pair absorbed on the owner's P: the winner put the slot into its
// cache, the loser into the word's inbox, each counted a Free. The pool
// counts one Free, Live stays exact, and the slot has one owner at a time.
//
//slabvet:ignore useafterfree the test replays a racing second Free on purpose
func TestRacedDoubleFreeAbsorbed(t *testing.T) {
	releaseOnly(t)
	withProcs(t, 1)
	p := slab.New[node](slab.WithName("raced"))
	keep := p.Alloc()
	x := p.Alloc()
	p.Free(x)
	require.False(t, slab.RaceSecondFree(p, x), "the loser's Free finds no sign of the race")
	requireExact(t, p, 1, 2, "after the absorbed pair")

	y := p.Alloc()
	require.Same(t, x, y, "the slot is handed out again, once")
	requireExact(t, p, 2, 3, "with the slot live again and its leftover in the inbox")
	z := p.Alloc()
	assert.NotSame(t, y, z, "no second owner")
	y.dirty(1)
	z.dirty(2)
	assert.Equal(t, uint64(1), y.id, "y keeps its value")

	p.Free(y)
	p.Free(z)
	requireExact(t, p, 1, 4, "after the next owner's Free")
	p.Free(keep)
	requireAllocatableNode(t, p)
}

// A Free that finds its slot in the inbox already panics with ErrDoubleFree,
// and its message does not claim to be the culprit: the race may have been
// an earlier pair's, whose loser's bit arrived after the winner's was
// collected and the slot reused. The pool is consistent after the panic.
func TestRacedDoubleFreeFoundLater(t *testing.T) {
	releaseOnly(t)
	withProcs(t, 1)
	p := slab.New[node](slab.WithName("raced"))
	var objs []*node
	for range 64 {
		objs = append(objs, p.Alloc())
	}
	slab.DrainCaches(p) // every slot of the word is live: the central free set owns it
	x := objs[5]
	require.False(t, slab.OwnedByCache(p, x), "no cache owns x's word")
	require.False(t, slab.RaceSecondFree(p, x), "a late loser's bit arrives while x is live")

	err := requirePanicIs(t, slab.ErrDoubleFree, func() { p.Free(x) })
	msg := err.Error()
	for _, want := range []string{
		`slab: double free of *slab_test.node (pool "raced", slot 5)`,
		"two Frees of one object raced",
		"or two Frees of an earlier object of the slot, before this call correctly freed the next one",
		"The slot is free once",
		"-race or -tags slabdebug",
	} {
		assert.Contains(t, msg, want, "the message says %q", want)
	}
	requireExact(t, p, 63, 64, "the slot is free once")
	for _, o := range objs {
		if o != x {
			p.Free(o)
		}
	}
	requireAllocatableNode(t, p)
}

// requireExact requires p's Stats to count live objects and allocs
// exactly, and its bookkeeping to agree with its slabs.
func requireExact(t *testing.T, p *slab.Pool[node], live int64, allocs uint64, when string) {
	t.Helper()
	require.NoError(t, slab.CheckInvariants(p), "%s: the bookkeeping agrees with the slabs", when)
	st := p.Stats()
	require.Equal(t, live, st.Live, "%s: Live", when)
	require.Equal(t, allocs, st.Allocs, "%s: Allocs", when)
	require.Equal(t, allocs-uint64(live), st.Frees, "%s: Frees", when)
}

// requireAllocatableNode proves that no slot is lost and none is doubly
// free: every slot of Capacity is allocated once, distinct, without growth.
func requireAllocatableNode(t *testing.T, p *slab.Pool[node]) {
	t.Helper()
	old := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(old)
	slab.DrainCaches(p)
	st := p.Stats()
	require.Zero(t, st.Live, "every object is freed before the check")
	seen := map[*node]bool{}
	for range st.Capacity {
		x := p.Alloc()
		require.False(t, seen[x], "slot %p handed out twice", x)
		seen[x] = true
	}
	assert.Equal(t, st.Capacity, p.Stats().Capacity, "Capacity objects fit without growing the pool")
	for x := range seen {
		p.Free(x)
	}
	p.Trim()
	assert.Zero(t, p.Stats().Slabs, "Trim releases every slab: no slot is lost")
}

// Real racing pairs, many times: the two Frees of each object start at the
// same moment on two goroutines. Whatever each pair does (caught or
// absorbed), never both panic, the pool never hands a slot to two holders,
// and it stays usable and exact; a later Free may be the one that finds a
// pair's leftover, and says so.
func TestRacedDoubleFreeStress(t *testing.T) {
	releaseOnly(t)
	if raceBuild {
		t.Skip("the race detector reports each deliberate race; TestRaceReportsRacingDoubleFree in package tracker checks that it does")
	}
	withProcs(t, 2)
	p := slab.New[node](slab.WithName("raced"))
	rounds := stress(20000)
	var caught, absorbed, foundLater int
	held := map[*node]uint64{}
	freeHeld := func() {
		for y, id := range held {
			require.Equal(t, id, y.id, "held object %p keeps its value: no other holder wrote it", y)
			if v := catch(func() { p.Free(y) }); v != nil {
				err, _ := v.(error)
				require.ErrorIs(t, err, slab.ErrDoubleFree, "only a racing pair's leftover makes a correct Free panic")
				require.Contains(t, err.Error(), "raced", "and the message says so")
				foundLater++
			}
		}
		clear(held)
	}
	for round := range rounds {
		x := p.Alloc()
		var gate atomic.Bool
		var wg sync.WaitGroup
		var other any
		ready := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			close(ready)
			for !gate.Load() {
			}
			other = catch(func() { p.Free(x) })
		}()
		<-ready
		gate.Store(true)
		mine := catch(func() { p.Free(x) })
		wg.Wait()
		// A Free that finds the slot in its inbox already panics, yet
		// freed the object: the bit may be an earlier pair's leftover. A
		// Free that finds the slot free changed nothing. So at most one of
		// the two is refused; both may panic.
		refused := 0
		for _, v := range []any{mine, other} {
			if v == nil {
				continue
			}
			err, ok := v.(error)
			require.True(t, ok && errors.Is(err, slab.ErrDoubleFree), "round %d: a racing Free panics with ErrDoubleFree, not %v", round, v)
			require.True(t, strings.HasPrefix(err.Error(), "slab: double free of"), "round %d: %v", round, err)
			if strings.Contains(err.Error(), "the slot is already free") {
				refused++
			}
		}
		require.LessOrEqual(t, refused, 1, "round %d: one of the two Frees freed the object (%v; %v)", round, mine, other)
		if mine != nil || other != nil {
			caught++
		} else {
			absorbed++
		}
		for range 3 {
			y := p.Alloc()
			require.NotContains(t, held, y, "round %d: a slot is handed out to two holders", round)
			y.id = uint64(round*8 + len(held) + 1)
			held[y] = y.id
		}
		if len(held) >= 300 {
			freeHeld()
		}
	}
	freeHeld()
	t.Logf("%d racing pairs: %d caught, %d absorbed; %d later Frees found a leftover", rounds, caught, absorbed, foundLater)
	st := p.Stats()
	assert.Zero(t, st.Live, "Live is 0 once every object is freed")
	assert.Equal(t, uint64(rounds+3*rounds), st.Allocs, "Allocs counts every allocation once")
	requireAllocatableNode(t, p)
}

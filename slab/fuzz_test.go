package slab_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
)

// Operations of FuzzPool, one input byte each (modulo numOps). Those with an
// argument read it from the next byte.
const (
	opAlloc       = iota // Alloc
	opTryAlloc           // TryAlloc; Alloc on an unbounded pool
	opAllocRef           // AllocRef
	opAllocIn            // AllocIn the model's scope
	opFree               // Free; arg picks the live object
	opFreeRef            // FreeRef(RefOf(x)); arg picks the live object
	opDeref              // Deref; arg picks a Ref issued so far, live or stale
	opRelease            // Release the scope
	opTrim               // Trim
	opDoubleFree         // Free again; arg picks a freed object
	opForeignFree        // Free of new(T), another pool's or an interior pointer; arg picks
	opAllocMany          // arg+1 Allocs
	opFreeMany           // arg+1 Frees
	opCheck              // every live object still holds its contents
	numOps
)

// maxFuzzOps bounds the operations of one input, so that every run is short.
const maxFuzzOps = 4096

// fuzzOther is a pool of the same type as the fuzzed one, for frees of
// another pool's pointer.
var fuzzOther = slab.New[node](slab.WithName("other"))

var fuzzOtherX = fuzzOther.Alloc()

// FuzzPool turns its input into a sequence of pool operations and checks the
// pool against a model: a map of the live objects. The first byte configures
// the pool: odd values bound it to byte/2+1 objects.
func FuzzPool(f *testing.F) {
	slabSize := slab.SlotsPerSlab(slab.New[node](slab.WithSlotsPerSlab(1)))
	const unbounded = 0
	seq := func(cfg byte, ops ...[]byte) []byte {
		return append([]byte{cfg}, bytes.Join(ops, nil)...)
	}
	rep := func(op byte, n int) []byte { return bytes.Repeat([]byte{op}, n) }
	// Word, cache and slab edges.
	for _, n := range []int{63, 64, 65, slab.MagSize - 1, slab.MagSize, slab.MagSize + 1, slabSize - 1, slabSize, slabSize + 1} {
		f.Add(seq(unbounded, rep(opAlloc, n)))
		f.Add(seq(unbounded, rep(opAlloc, n), rep(opTrim, 1), rep(opAlloc, 1)))
		f.Add(seq(unbounded, rep(opAlloc, n), []byte{opFreeMany, byte(min(n-1, 255))}, rep(opTrim, 1), []byte{opDoubleFree, 0}))
	}
	// Bounded pools at their bound.
	for _, bound := range []byte{1, 63, 64, 65} {
		cfg := (bound-1)<<1 | 1
		f.Add(seq(cfg, rep(opTryAlloc, int(bound)+1), rep(opAlloc, 1), []byte{opFree, 0}, rep(opTryAlloc, 2)))
	}
	// Each kind of misuse once.
	f.Add(seq(0, []byte{opAlloc, opFree, 0, opDoubleFree, 0}))
	f.Add(seq(0, []byte{opAlloc, opForeignFree, 0, opForeignFree, 1, opForeignFree, 2}))
	f.Add(seq(0, []byte{opAllocRef, opFreeRef, 0, opDeref, 0, opAllocRef, opDeref, 1}))
	f.Add(seq(0, []byte{opAllocIn, opAllocIn, opFree, 0, opRelease, opDoubleFree, 1}))
	f.Add(seq(0, []byte{opAllocMany, 200, opFreeMany, 100, opTrim, opCheck, opAllocMany, 255, opCheck}))

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		m := newPoolModel(t, data[0])
		in := data[1:]
		if len(in) > maxFuzzOps {
			in = in[:maxFuzzOps]
		}
		for len(in) > 0 {
			op := in[0] % numOps
			in = in[1:]
			arg := byte(0)
			if len(in) > 0 {
				switch op {
				case opFree, opFreeRef, opDeref, opDoubleFree, opForeignFree, opAllocMany, opFreeMany:
					arg, in = in[0], in[1:]
				}
			}
			m.step(op, arg)
			m.checkCounts()
		}
		m.finish()
	})
}

// poolModel is what FuzzPool knows the pool must hold.
type poolModel struct {
	t     *testing.T
	p     *slab.Pool[node]
	bound int // 0 = unbounded
	scope *slab.Scope

	live   []modelObj
	index  map[*node]int // live object -> its place in live
	freed  []*node       // freed and not handed out again
	refs   []modelRef    // Refs issued, live or stale
	nextID uint64
}

type modelObj struct {
	x      *node
	id     uint64
	scoped bool
}

type modelRef struct {
	r slab.Ref[node]
	x *node // nil once stale
}

func newPoolModel(t *testing.T, cfg byte) *poolModel {
	m := &poolModel{t: t, scope: slab.NewScope(), index: map[*node]int{}}
	opts := []slab.Option{slab.WithSlotsPerSlab(1), slab.WithIdleTrim(0)}
	if cfg&1 == 1 {
		m.bound = int(cfg>>1) + 1
		opts = append(opts, slab.WithMaxObjects(m.bound))
	}
	m.p = slab.New[node](opts...)
	return m
}

func (m *poolModel) full() bool { return m.bound > 0 && len(m.live) >= m.bound }

func (m *poolModel) step(op, arg byte) {
	t, p := m.t, m.p
	switch op {
	case opAlloc:
		m.alloc(p.Alloc)
	case opTryAlloc:
		if m.bound == 0 {
			m.alloc(p.Alloc)
			return
		}
		x, err := p.TryAlloc()
		if m.full() {
			if x != nil || !errors.Is(err, slab.ErrExhausted) {
				require.Nil(t, x, "TryAlloc at the bound returns no object")
				require.ErrorIs(t, err, slab.ErrExhausted, "TryAlloc at the bound returns ErrExhausted")
			}
			return
		}
		if err != nil {
			require.NoError(t, err, "TryAlloc below the bound succeeds")
		}
		m.add(x, false)
	case opAllocRef:
		var r slab.Ref[node]
		if m.alloc(func() *node { r = p.AllocRef(); return p.Deref(r) }) {
			m.refs = append(m.refs, modelRef{r, p.Deref(r)})
		}
	case opAllocIn:
		x := (*node)(nil)
		if m.alloc(func() *node { x = p.AllocIn(m.scope); return x }) {
			m.live[m.index[x]].scoped = true
		}
	case opFree, opFreeRef:
		if len(m.live) == 0 {
			return
		}
		o := m.live[int(arg)%len(m.live)]
		if o.scoped {
			m.expectPanic(slab.ErrScoped, func() { p.Free(o.x) })
			m.expectPanic(slab.ErrScoped, func() { p.RefOf(o.x) })
			return
		}
		m.verify(o)
		if op == opFree {
			p.Free(o.x)
		} else {
			p.FreeRef(p.RefOf(o.x))
		}
		m.remove(o.x)
	case opDeref:
		if len(m.refs) == 0 {
			return
		}
		mr := m.refs[int(arg)%len(m.refs)]
		if mr.x == nil {
			m.expectPanic(slab.ErrStaleRef, func() { p.Deref(mr.r) })
			m.expectPanic(slab.ErrStaleRef, func() { p.FreeRef(mr.r) })
			return
		}
		if x := p.Deref(mr.r); x != mr.x {
			require.Same(t, mr.x, x, "Deref of a live Ref returns its object")
		}
	case opRelease:
		for _, o := range append([]modelObj(nil), m.live...) {
			if o.scoped {
				m.verify(o)
				m.remove(o.x)
			}
		}
		m.scope.Release()
		if m.scope.Len() != 0 {
			require.Zero(t, m.scope.Len(), "a released scope is empty")
		}
	case opTrim:
		p.Trim()
	case opDoubleFree:
		if len(m.freed) == 0 {
			return
		}
		x := m.freed[int(arg)%len(m.freed)]
		want := slab.ErrDoubleFree
		switch {
		case !slab.InSlab(p, x):
			want = slab.ErrForeign // its slab was released by Trim
		case slab.HeldByScope(p, x):
			// Default builds: a scope has taken the slot since, and
			// the Free is reported as a Free of a scope's slot.
			want = slab.ErrScoped
		}
		m.expectPanic(want, func() { p.Free(x) })
	case opForeignFree:
		var x *node
		switch arg % 3 {
		case 0:
			x = new(node)
		case 1:
			x = fuzzOtherX
		case 2:
			if len(m.live) == 0 {
				return
			}
			o := m.live[int(arg)%len(m.live)]
			// A word-aligned offset inside the slot: -race's checkptr
			// rejects a misaligned *node.
			words := int(unsafe.Sizeof(node{}) / unsafe.Sizeof(uintptr(0)))
			x = (*node)(unsafe.Add(unsafe.Pointer(o.x), (1+int(arg)%(words-1))*int(unsafe.Sizeof(uintptr(0)))))
		}
		m.expectPanic(slab.ErrForeign, func() { p.Free(x) })
	case opAllocMany:
		for range int(arg) + 1 {
			if m.full() {
				m.step(opTryAlloc, 0)
				break
			}
			m.alloc(p.Alloc)
		}
	case opFreeMany:
		for range int(arg) + 1 {
			if len(m.live) == 0 {
				break
			}
			m.step(opFree, byte(len(m.live)-1))
		}
	case opCheck:
		for _, o := range m.live {
			m.verify(o)
		}
	}
}

// alloc runs an allocating call, which must panic with ErrExhausted on a
// full bounded pool and otherwise return a new zeroed object. It reports
// whether the call allocated.
func (m *poolModel) alloc(f func() *node) bool {
	if m.full() {
		m.expectPanic(slab.ErrExhausted, func() { f() })
		return false
	}
	x := f()
	m.add(x, false)
	return true
}

func (m *poolModel) add(x *node, scoped bool) {
	t := m.t
	_, dup := m.index[x]
	if x == nil || dup || *x != (node{}) {
		require.NotNil(t, x, "an allocation returns an object")
		require.False(t, dup, "an allocation never returns a live object")
		require.Zero(t, *x, "an allocation returns a zeroed T")
	}
	m.nextID++
	x.id, x.vals[0], x.next = m.nextID, ^m.nextID, x
	m.index[x] = len(m.live)
	m.live = append(m.live, modelObj{x: x, id: m.nextID, scoped: scoped})
	for i, f := range m.freed {
		if f == x {
			m.freed = append(m.freed[:i], m.freed[i+1:]...)
			break
		}
	}
}

// expectPanic runs f, which must panic with an error wrapping target whose
// message starts with "slab:" and names the type. The check is inlined, and
// testify reports only a failure: FuzzPool's throughput depends on it.
func (m *poolModel) expectPanic(target error, f func()) {
	v := catch(f)
	if err, ok := v.(error); ok && errors.Is(err, target) {
		if msg := err.Error(); strings.HasPrefix(msg, "slab:") && strings.Contains(msg, nodeType) {
			return
		}
	}
	requirePanicValueIs(m.t, v, target, nodeType)
}

func (m *poolModel) verify(o modelObj) {
	if o.x.id != o.id || o.x.vals[0] != ^o.id || o.x.next != o.x {
		require.Equal(m.t, o.id, o.x.id, "a live object keeps the id written into it")
		require.Equal(m.t, ^o.id, o.x.vals[0], "a live object keeps its contents")
		require.Same(m.t, o.x, o.x.next, "a live object keeps its pointers")
	}
}

func (m *poolModel) remove(x *node) {
	i := m.index[x]
	last := len(m.live) - 1
	m.live[i] = m.live[last]
	m.index[m.live[i].x] = i
	m.live = m.live[:last]
	delete(m.index, x)
	m.freed = append(m.freed, x)
	if len(m.freed) > 256 {
		m.freed = m.freed[1:]
	}
	for i := range m.refs {
		if m.refs[i].x == x {
			m.refs[i].x = nil
		}
	}
	if len(m.refs) > 256 {
		m.refs = m.refs[1:]
	}
}

func (m *poolModel) checkCounts() {
	st := m.p.Stats()
	if st.Live != int64(len(m.live)) || st.Live != int64(st.Allocs-st.Frees) || st.Live > st.Capacity ||
		m.bound > 0 && int(st.Live) > m.bound {
		require.Equal(m.t, int64(len(m.live)), st.Live, "Live counts the model's live objects")
		require.Equal(m.t, st.Live, int64(st.Allocs-st.Frees), "Live == Allocs - Frees")
		require.LessOrEqual(m.t, int(st.Live), st.Capacity, "live objects fit in Capacity")
		require.LessOrEqual(m.t, int(st.Live), m.bound, "a bounded pool never exceeds its bound")
	}
}

// finish frees everything and checks that every slot came back.
func (m *poolModel) finish() {
	m.step(opRelease, 0)
	for len(m.live) > 0 {
		m.step(opFree, 0)
	}
	st := m.p.Stats()
	require.Zero(m.t, st.Live, "nothing is live at the end")
	require.Equal(m.t, st.Allocs, st.Frees, "Allocs == Frees at the end")
	m.p.Trim()
	require.Zero(m.t, m.p.Stats().Slabs, "no slot was lost: Trim releases every slab")
}

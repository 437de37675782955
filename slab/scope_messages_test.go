package slab_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
)

// Every panic of a call on a scope, nil, taken back by its ScopePool or
// given a bad size, reads as a sentence that names the call and wraps its
// sentinel, in every build. (Default builds once printed "slab: :
// capacity 4611686018427387904 out of range" and "slab: nil scope:  with a
// nil *Scope".)
func TestScopeMessagesNameTheCall(t *testing.T) {
	p := slab.New[stamped](slab.WithName("scope-messages"))
	var sp slab.ScopePool
	put := sp.Get()
	sp.Put(put)
	room := make([]int, 0, 4)
	for _, sc := range []struct {
		name string
		s    *slab.Scope
		want error
	}{
		{"nil", nil, slab.ErrNilScope},
		{"put back", put, slab.ErrInvalidScope},
	} {
		for _, tc := range []struct {
			call string
			do   func(s *slab.Scope)
		}{
			{"AllocIn", func(s *slab.Scope) { p.AllocIn(s) }},
			{"NewIn", func(s *slab.Scope) { slab.NewIn[stamped](s) }},
			{"MakeSliceIn", func(s *slab.Scope) { slab.MakeSliceIn[int](s, 0, 8) }},
			{"MakeSliceIn", func(s *slab.Scope) { slab.MakeSliceIn[int](s, 0, 0) }},
			{"AppendIn", func(s *slab.Scope) { slab.AppendIn(s, []int(nil), 1) }},
			{"AppendIn", func(s *slab.Scope) { slab.AppendIn(s, room, 1) }}, // room to spare: no allocation, still checked
			{"StringIn", func(s *slab.Scope) { slab.StringIn(s, "abc") }},
			{"StringIn", func(s *slab.Scope) { slab.StringIn(s, "") }},
			{"MakeMapIn", func(s *slab.Scope) { slab.MakeMapIn[map[string]int](s, 4) }},
			{"BuilderIn", func(s *slab.Scope) { slab.BuilderIn(s, 16) }},
			{"Release", func(s *slab.Scope) {
				if s == nil {
					panic(errors.New("slab: nil scope: Release of a nil *Scope does nothing, as documented")) // not a call that panics
				}
				s.Release()
			}},
		} {
			if sc.s == nil && tc.call == "Release" {
				continue
			}
			v := catch(func() { tc.do(sc.s) })
			err, ok := v.(error)
			require.Truef(t, ok, "%s on a %s scope panics with an error, not %T (%v)", tc.call, sc.name, v, v)
			assert.ErrorIsf(t, err, sc.want, "%s on a %s scope", tc.call, sc.name)
			checkSentence(t, err, tc.call)
		}
	}

	s := sp.Get()
	defer sp.Put(s)
	for _, tc := range []struct {
		call string
		do   func()
	}{
		{"MakeSliceIn", func() { slab.MakeSliceIn[int](s, 0, 1<<62) }},
		{"MakeSliceIn", func() { slab.MakeSliceIn[int](s, 5, 2) }},
		{"MakeMapIn", func() { slab.MakeMapIn[map[string]int](s, -1) }},
	} {
		v := catch(tc.do)
		err, ok := v.(error)
		require.Truef(t, ok, "%s with a bad size panics with an error, not %T (%v)", tc.call, v, v)
		checkSentence(t, err, tc.call)
	}
}

// checkSentence checks that the first line of err's message starts with
// "slab: ", names call, and has no empty part.
func checkSentence(t *testing.T, err error, call string) {
	t.Helper()
	first, _, _ := strings.Cut(err.Error(), "\n")
	assert.Truef(t, strings.HasPrefix(first, "slab: "), "the message starts with slab: %q", first)
	assert.Containsf(t, first, call, "the message names %s: %q", call, first)
	for _, bad := range []string{": :", " :", "  ", "()", " of (", "of  "} {
		assert.NotContainsf(t, first, bad, "the message reads as a sentence (no %q): %q", bad, first)
	}
}

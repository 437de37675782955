package slabjson_test

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
	"github.com/slabtrack/slabtrack/slab/slabjson/internal/shapes"
)

// differ decodes data into a fresh value of shape sh in scope s, and
// reports how the value or the error differs from those of json v2's
// Unmarshal, or "".
func differ(s *slab.Scope, sh shape, data []byte) string {
	got := sh.new()
	errGot := slabjson.Unmarshal(s, data, got)
	want := sh.new()
	errWant := json.Unmarshal(data, want)
	switch {
	case (errWant == nil) != (errGot == nil):
		return fmt.Sprintf("json v2 error %v, slabjson error %v", errWant, errGot)
	case errWant != nil && errWant.Error() != errGot.Error():
		return fmt.Sprintf("json v2 error %q, slabjson error %q", errWant, errGot)
	case !reflect.DeepEqual(want, got):
		return fmt.Sprintf("json v2 decoded %#v, slabjson %#v (error %v)", want, got, errWant)
	}
	return ""
}

// documents are the inputs and the six 9 KB bid requests.
func documents(t *testing.T) [][]byte {
	var docs [][]byte
	for _, in := range inputs {
		docs = append(docs, []byte(in))
	}
	return append(docs, samples(t)...)
}

// TestSameResultsAndErrorsAsJSONv2 decodes every document into every shape
// and compares the value and the error message with json v2's. The scope
// is released after each document and reused for the next, twice over, so
// a value that a decode failed to overwrite in recycled memory would show.
func TestSameResultsAndErrorsAsJSONv2(t *testing.T) {
	docs := documents(t)
	for _, sh := range allShapes {
		t.Run(sh.String(), func(t *testing.T) {
			s := slab.NewScope()
			for round := range 2 {
				for i, doc := range docs {
					assert.Empty(t, differ(s, sh, doc), "round %d, document %d (%.60q) decodes as json v2 decodes it", round, i, doc)
					s.Release()
				}
			}
		})
	}
}

// TestDecodingIntoExistingValues decodes into values that already hold
// data, as json v2 merges into them: struct fields absent from the input
// are kept, slices are overwritten from their start (their room reused),
// maps keep their other keys and decode into a present key's value.
func TestDecodingIntoExistingValues(t *testing.T) {
	s := slab.NewScope()
	defer s.Release()
	fill := func() *shapes.Scalars {
		return &shapes.Scalars{I: 7, S: "kept", P: &shapes.Scalars{I: 1, S: "inner"},
			M: map[shapes.Name]*shapes.Scalars{"a": {I: 2}, "b": {I: 3}}}
	}
	for _, in := range []string{
		`{"I":8}`, `{"P":{"S":"new"}}`, `{"P":null}`, `{"M":{"a":{"S":"x"},"c":{"I":4}}}`, `{"M":null}`,
		`{"A":[9,9,9]}`, `null`, `{"I":"bad","S":"never"}`,
	} {
		got, want := fill(), fill()
		errGot := slabjson.Unmarshal(s, []byte(in), got)
		errWant := json.Unmarshal([]byte(in), want)
		assert.Equal(t, errWant, errGot, "%s: the same error as json v2", in)
		assert.Equal(t, want, got, "%s: merged into the existing value as json v2 merges", in)
	}
	tags := make([]string, 1, 8)
	tags[0] = "old"
	room := &tags[:2][1]
	require.NoError(t, slabjson.Unmarshal(s, []byte(`["a","b"]`), &tags))
	assert.Equal(t, []string{"a", "b"}, tags, "a slice is overwritten from its start")
	assert.Same(t, room, &tags[1], "in the room it had, as json v2 appends into it")
}

// TestDecoderIsSafeForConcurrentUse decodes the samples from several
// goroutines at once, each in scopes of its own, and compares each result
// with json v2's.
func TestDecoderIsSafeForConcurrentUse(t *testing.T) {
	bodies := samples(t)
	var want []shapes.Request
	for _, b := range bodies {
		var r shapes.Request
		require.NoError(t, json.Unmarshal(b, &r))
		want = append(want, r)
	}
	rounds := 100
	if testing.Short() {
		rounds = 10
	}
	var pool slab.ScopePool
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range rounds {
				k := (g + i) % len(bodies)
				s := pool.Get()
				var got shapes.Request
				err := slabjson.Unmarshal(s, bodies[k], &got)
				ok := assert.NoError(t, err) && assert.Equal(t, want[k], got, "goroutine %d decodes sample %d as json v2 does", g, k+1)
				pool.Put(s)
				if !ok {
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestUnmarshalPanicsWithoutAScope(t *testing.T) {
	var n int
	var pool slab.ScopePool
	ended := pool.Get()
	pool.Put(ended)
	for name, tc := range map[string]struct {
		call func()
		want error
	}{
		"nil scope":   {func() { _ = slabjson.Unmarshal(nil, []byte(`1`), &n) }, slab.ErrNilScope},
		"ended scope": {func() { _ = slabjson.Unmarshal(ended, []byte(`1`), &n) }, slab.ErrInvalidScope},
	} {
		t.Run(name, func(t *testing.T) {
			var err error
			func() {
				defer func() { err, _ = recover().(error) }()
				tc.call()
			}()
			require.ErrorIs(t, err, tc.want, "Unmarshal panics with %v, even with nothing to place in the scope", tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "slab: "), "the message starts with the package prefix: %v", err)
		})
	}
}

func TestUnmarshalOfANonPointerIsJSONv2sError(t *testing.T) {
	s := slab.NewScope()
	var n int
	for _, v := range []any{n, nil, (*int)(nil)} {
		err := slabjson.Unmarshal(s, []byte(`1`), v)
		assert.Equal(t, json.Unmarshal([]byte(`1`), v), err, "Unmarshal into %T reports json v2's error", v)
	}
}

// TestScopeLimitStopsDecoding decodes into scopes whose ScopePool bounds
// their memory: past the bound Unmarshal returns ErrScopeLimit, having
// taken no more than the bound and a chunk, and the scope stays usable.
func TestScopeLimitStopsDecoding(t *testing.T) {
	pool := slab.ScopePool{Name: "limited", MaxBytes: 16 << 10}
	var big bytes.Buffer
	big.WriteString(`[`)
	for i := range 20000 {
		if i > 0 {
			big.WriteByte(',')
		}
		fmt.Fprintf(&big, `"string %d of a long array"`, i)
	}
	big.WriteString(`]`)
	for _, in := range [][]byte{big.Bytes(), []byte(`{"ext":{` + strings.Repeat(`"k":1,`, 0) + `"a":"` + strings.Repeat("x", 40<<10) + `"}}`)} {
		s := pool.Get()
		var v any
		var err error
		if in[0] == '[' {
			var xs []string
			err = slabjson.Unmarshal(s, in, &xs)
		} else {
			var r shapes.Request
			err = slabjson.Unmarshal(s, in, &r)
			v = r
		}
		require.ErrorIs(t, err, slab.ErrScopeLimit, "a decode past MaxBytes stops with ErrScopeLimit (%T)", v)
		assert.Contains(t, err.Error(), `ScopePool "limited"`, "the message names the pool")
		assert.LessOrEqual(t, pool.Stats().InUseBytes, int64(16<<10+64<<10), "the scope took at most the bound and one chunk")
		pool.Put(s)
		s = pool.Get()
		var xs []string
		assert.NoError(t, slabjson.Unmarshal(s, []byte(`["a","b"]`), &xs), "the next scope of the pool decodes within its bound")
		pool.Put(s)
	}
	assert.Positive(t, pool.Stats().LimitErrors, "the refusals are counted")
}

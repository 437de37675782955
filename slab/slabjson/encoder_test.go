package slabjson_test

import (
	"bytes"
	jsonv1 "encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/slabtrack/slabtrack/slab/slabjson"
)

// bytesBuffer is an io.Writer that keeps its capacity.
type bytesBuffer []byte

func (b *bytesBuffer) Write(p []byte) (int, error) {
	*b = append(*b, p...)
	return len(p), nil
}

// responses returns the committed responses of the bid request samples.
func responses(t *testing.T) [][]byte {
	t.Helper()
	var out [][]byte
	for seed := 1; seed <= 6; seed++ {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "bidder", "testdata", fmt.Sprintf("response-%d.json", seed)))
		require.NoError(t, err, "the response is committed")
		out = append(out, b)
	}
	return out
}

func TestEncoderWritesWhatEncodingJSONWrites(t *testing.T) {
	e := slabjson.NewEncoder(slabjson.EscapeHTML())
	for i, want := range responses(t) {
		var resp workload.BidResponse
		require.NoError(t, json.Unmarshal(want, &resp), "the committed response decodes")
		var out bytesBuffer
		require.NoError(t, e.Encode(&out, &resp), "the response encodes")
		assert.Equal(t, string(want), string(out), "response %d: Encode with EscapeHTML writes what encoding/json's Encoder wrote", i+1)
	}

	s := struct{ S string }{"<a href=\"x?a=1&b=2\">\u2028\u2029</a>"}
	var v1, v2, plain bytesBuffer
	require.NoError(t, jsonv1.NewEncoder(&v1).Encode(s))
	require.NoError(t, e.Encode(&v2, s))
	assert.Equal(t, string(v1), string(v2), "EscapeHTML escapes as encoding/json does, U+2028 and U+2029 included")
	require.NoError(t, slabjson.NewEncoder().Encode(&plain, s))
	assert.Equal(t, "{\"S\":\"<a href=\\\"x?a=1&b=2\\\">\u2028\u2029</a>\"}\n", string(plain), "without it, json v2's defaults")

	var bad bytesBuffer
	assert.Error(t, e.Encode(&bad, &struct{ F func() }{}), "a value json v2 cannot encode is an error")
	assert.Empty(t, bad, "nothing is written for it")
	var zero slabjson.Encoder
	require.NoError(t, zero.Encode(&plain, 1), "the zero Encoder is usable")
}

func TestEncodeAllocatesNothing(t *testing.T) {
	skipAllocsUnlessRelease(t)
	var resp workload.BidResponse
	require.NoError(t, json.Unmarshal(responses(t)[0], &resp))
	search := workload.Search(workload.SearchHeapSources(), workload.Queries()[0])
	maps := map[string]any{
		"counts": map[string]int{"b": 2, "a": 1, "c": 3},
		"ids":    map[int64][]string{7: {"x"}, -3: {"y", "z"}},
		"nested": map[string]map[string]float64{"p": {"q": 1.5, "r": 2}},
	}
	for _, mode := range encoderModes {
		e := slabjson.NewEncoder(mode.opts...)
		for name, v := range map[string]any{"bid response": &resp, "search response": search, "maps": maps} {
			out := make(bytesBuffer, 0, 128<<10)
			encode := func() {
				out = out[:0]
				if err := e.Encode(&out, v); err != nil {
					panic(err)
				}
			}
			encode()
			assert.Zero(t, testing.AllocsPerRun(50, encode), "%s, %s: Encode allocates nothing once its buffer has grown", mode.name, name)
		}
	}
}

// encoderModes are the Encoder's options, each with the library whose
// bytes it writes.
var encoderModes = []struct {
	name string
	opts []slabjson.EncodeOption
	ref  func(x any) ([]byte, error)
}{
	{"default", nil, refV2()},
	{"EscapeHTML", []slabjson.EncodeOption{slabjson.EscapeHTML()}, refV2(jsontext.EscapeForHTML(true), jsontext.EscapeForJS(true))},
	{"LikeEncodingJSON", []slabjson.EncodeOption{slabjson.LikeEncodingJSON()}, refV1},
}

func TestEncoderIsSafeForConcurrentUse(t *testing.T) {
	e := slabjson.NewEncoder(slabjson.EscapeHTML())
	want := responses(t)
	resps := make([]workload.BidResponse, len(want))
	for i := range want {
		require.NoError(t, json.Unmarshal(want[i], &resps[i]))
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			var out bytesBuffer
			for i := range 50 {
				k := (g + i) % len(want)
				out = out[:0]
				if !assert.NoError(t, e.Encode(&out, &resps[k])) || !assert.Equal(t, string(want[k]), string(out), "goroutine %d, response %d", g, k+1) {
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestEncoderCompilesConcurrently has goroutines encode values of types
// never seen before, some of the same types, some holding each other, at
// once: every encoder is compiled once, and every goroutine writes what
// the library writes.
func TestEncoderCompilesConcurrently(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var values []any
	for range 40 {
		data := make([]byte, 64)
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		g := &gen{data: data}
		v := reflect.New(g.typ(4))
		g.value(v.Elem(), 4)
		values = append(values, v.Interface(), v.Elem().Interface())
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range values {
				x := values[(i+g*7)%len(values)]
				if diff := encodersDiffer(x); diff != "" {
					t.Errorf("goroutine %d: %T: %s", g, x, diff)
					return
				}
			}
		})
	}
	wg.Wait()
}

// panicker's MarshalJSON panics.
type panicker struct{ P bool }

func (p panicker) MarshalJSON() ([]byte, error) {
	if p.P {
		panic("MarshalJSON panics")
	}
	return []byte(`"calm"`), nil
}

// TestEncoderAfterAPanic checks that a panic in a MarshalJSON method that
// the Encoder calls reaches the caller, and that the Encoder goes on
// writing correct values afterwards.
func TestEncoderAfterAPanic(t *testing.T) {
	for _, mode := range encoderModes {
		e := slabjson.NewEncoder(mode.opts...)
		v := map[string]any{"a": []panicker{{false}, {true}}, "b": "after"}
		require.PanicsWithValue(t, "MarshalJSON panics", func() { _ = e.Encode(io.Discard, v) }, "%s: the method's panic", mode.name)
		v["a"] = []panicker{{false}}
		for range 3 {
			var out bytes.Buffer
			require.NoError(t, e.Encode(&out, v), mode.name)
			want, err := mode.ref(v)
			require.NoError(t, err)
			if mode.name != "LikeEncodingJSON" {
				assert.True(t, sameCanonical(out.Bytes(), want), "%s: %s, want %s", mode.name, out.Bytes(), want)
			} else {
				assert.Equal(t, string(want), out.String(), mode.name)
			}
		}
	}
}

// failingWriter fails every Write.
type failingWriter struct{}

var errWrite = errors.New("write failed")

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestEncoderReturnsTheWriteError(t *testing.T) {
	for _, mode := range encoderModes {
		e := slabjson.NewEncoder(mode.opts...)
		assert.ErrorIs(t, e.Encode(failingWriter{}, map[string]int{"a": 1}), errWrite, mode.name)
		var out bytes.Buffer
		require.NoError(t, e.Encode(&out, []int{1}), "%s: usable afterwards", mode.name)
		assert.Equal(t, "[1]\n", out.String(), mode.name)
	}
}

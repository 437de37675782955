package slabjson_test

import (
	jsonv1 "encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/openrtb"
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
		var resp openrtb.BidResponse
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
	e := slabjson.NewEncoder(slabjson.EscapeHTML())
	var resp openrtb.BidResponse
	require.NoError(t, json.Unmarshal(responses(t)[0], &resp))
	out := make(bytesBuffer, 0, 64<<10)
	encode := func() {
		out = out[:0]
		if err := e.Encode(&out, &resp); err != nil {
			panic(err)
		}
	}
	encode()
	assert.Zero(t, testing.AllocsPerRun(50, encode), "Encode allocates nothing once its buffer has grown")
}

func TestEncoderIsSafeForConcurrentUse(t *testing.T) {
	e := slabjson.NewEncoder(slabjson.EscapeHTML())
	want := responses(t)
	resps := make([]openrtb.BidResponse, len(want))
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

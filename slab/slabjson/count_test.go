package slabjson

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lensOf returns the offset and length of every array of the valid JSON
// data, in the order they begin, as jsontext reads them.
func lensOf(data []byte) []arrayLen {
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	var lens []arrayLen
	var open []int // per open array or object: its index in lens, or -1
	for {
		kind, length := dec.StackIndex(dec.StackDepth())
		tok, err := dec.ReadToken()
		if err != nil {
			return lens
		}
		k := tok.Kind()
		name := kind == '{' && length%2 == 0 && k != '}'
		if !name && k != ']' && k != '}' && len(open) > 0 && open[len(open)-1] >= 0 {
			lens[open[len(open)-1]].n++
		}
		switch k {
		case '[':
			open = append(open, len(lens))
			lens = append(lens, arrayLen{off: dec.InputOffset() - 1})
		case '{':
			open = append(open, -1)
		case ']', '}':
			open = open[:len(open)-1]
		}
	}
}

func scanLens(t testing.TB, data []byte) ([]arrayLen, bool) {
	var a arrayLens
	i := bytes.IndexByte(data, '[')
	require.GreaterOrEqual(t, i, 0, "the document has an array")
	ok := a.scan(data[i:], int64(i))
	return a.lens, ok
}

func TestArrayLensScan(t *testing.T) {
	for _, doc := range []string{
		`[]`,
		`[1]`,
		`[1,2,3]`,
		` [ 1 , "a" , null , true , false , -1.5e3 ] `,
		`[[],[[]],[1,[2,3]],{"a":[4,5,6],"b":{"c":[]}}]`,
		`["]","[","\"]","\\","\\\"[",",,,"]`,
		`[{"k":"v","l":[{"m":[1,2]}]},{}]`,
		`{"a":[1,2],"b":[[3],[4,5]]}`,
	} {
		t.Run(doc, func(t *testing.T) {
			want := lensOf([]byte(doc))
			got, ok := scanLens(t, []byte(doc))
			require.True(t, ok, "the scan reaches the end of the array")
			if doc[0] == '{' {
				// scan reads only the first array; json v2 decodes the next
				// one after it, which length scans then.
				want = want[:1]
			}
			assert.Equal(t, want, got, "every array's offset and length, in order")
		})
	}
	for _, doc := range []string{`[1,2`, `["a]`, `[[1],[2]`, `[{"a":"\"}]`} {
		_, ok := scanLens(t, []byte(doc))
		assert.False(t, ok, "%s: the scan of a truncated array fails", doc)
	}
}

// FuzzArrayLens compares the scan with jsontext on arbitrary valid JSON,
// wrapped in an array.
func FuzzArrayLens(f *testing.F) {
	for _, s := range []string{`1`, `"a"`, `[1,[2]]`, `{"a":["]"]}`, `"\\\""`, `[[[]]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !jsontext.Value(data).IsValid() {
			return
		}
		doc := append(append([]byte{'['}, data...), ']')
		want := lensOf(doc)
		got, ok := scanLens(t, doc)
		if !ok || !assert.Equal(t, want, got, "the lengths of %q", doc) {
			t.Fatalf("scan of %q: ok %v", doc, ok)
		}
	})
}

// BenchmarkArrayLensScan scans the impressions of a 9 KB bid request, the
// longest array the request's hooks read ahead.
func BenchmarkArrayLensScan(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "..", "internal", "openrtb", "testdata", "request-1.json"))
	require.NoError(b, err)
	i := bytes.IndexByte(data, '[')
	var a arrayLens
	b.SetBytes(int64(len(data) - i))
	for b.Loop() {
		a.lens = a.lens[:0]
		if !a.scan(data[i:], int64(i)) {
			b.Fatal("the scan fails")
		}
	}
}

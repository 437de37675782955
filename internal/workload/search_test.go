package workload_test

import (
	jsonv1 "encoding/json"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/workload"
)

// counting is a Source that counts what it hands out.
type counting[T any] struct{ n *int }

func (c counting[T]) Alloc() *T {
	*c.n++
	return new(T)
}

// countingText counts the strings it makes.
type countingText struct{ n *int }

func (c countingText) String(b []byte) string {
	*c.n++
	return string(b)
}

func TestSearchBuildsTheAdvertisedTree(t *testing.T) {
	var objs, strs int
	src := &workload.SearchSources{
		Response: counting[workload.SearchResponse]{&objs}, Page: counting[workload.Page]{&objs},
		Hit: counting[workload.Hit]{&objs}, Price: counting[workload.Price]{&objs},
		Seller: counting[workload.Seller]{&objs}, Rating: counting[workload.Rating]{&objs},
		Stock: counting[workload.Stock]{&objs}, Image: counting[workload.Image]{&objs},
		Variant: counting[workload.Variant]{&objs}, Highlight: counting[workload.Highlight]{&objs},
		Facet: counting[workload.Facet]{&objs}, Bucket: counting[workload.Bucket]{&objs},
	}
	workload.SetGoSlices(src)
	src.Text = countingText{&strs}
	for _, q := range workload.Queries() {
		objs, strs = 0, 0
		resp := workload.Search(src, q)
		require.Len(t, resp.Hits, workload.PageSize, "%v: a full page of hits", q)
		assert.Greater(t, resp.Total, workload.PageSize, "%v: more than one page", q)
		assert.InDelta(t, 720, objs, 30, "%v: objects built", q)
		assert.InDelta(t, 270, strs, 30, "%v: strings built", q)
		b, err := jsonv1.Marshal(resp)
		require.NoError(t, err)
		assert.InDelta(t, 68<<10, len(b), 4<<10, "%v: size of the response", q)
	}
}

func TestSearchIsDeterministic(t *testing.T) {
	for _, q := range workload.Queries() {
		a, err := jsonv1.Marshal(workload.Search(workload.SearchHeapSources(), q))
		require.NoError(t, err)
		src := workload.SearchHeapSources()
		workload.Search(src, workload.Queries()[0]) // buffers of another query
		b, err := jsonv1.Marshal(workload.Search(src, q))
		require.NoError(t, err)
		assert.Equal(t, string(a), string(b), "%v: the same response from fresh and used Sources", q)
	}
}

// TestEncodersAgreeButForHTML checks the tags: json v2 told to escape as
// encoding/json does writes encoding/json's bytes; without, it differs
// only in the escaping of <, > and &.
func TestEncodersAgreeButForHTML(t *testing.T) {
	for _, q := range workload.Queries() {
		resp := workload.Search(workload.SearchHeapSources(), q)
		v1, err := jsonv1.Marshal(resp)
		require.NoError(t, err)
		v2html, err := json.Marshal(resp, jsontext.EscapeForHTML(true), jsontext.EscapeForJS(true))
		require.NoError(t, err)
		assert.Equal(t, string(v1), string(v2html), "%v: json v2 escaping HTML writes encoding/json's bytes", q)

		v2, err := json.Marshal(resp)
		require.NoError(t, err)
		assert.Contains(t, string(v2), "<em>", "%v: the highlights mark terms up", q)
		unescaped := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(v1))
		assert.Equal(t, unescaped, string(v2), "%v: without, only <, > and & differ", q)
	}
}

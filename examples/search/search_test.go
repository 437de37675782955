package main

import (
	"bytes"
	jsonv1 "encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/workload"
)

// want returns what encoding/json ("v1") or json v2 ("v2") writes for the
// response to q, built on the heap, followed by a newline.
func want(t *testing.T, bytesOf string, q workload.Query) string {
	t.Helper()
	resp := workload.Search(workload.SearchHeapSources(), q)
	var b []byte
	var err error
	switch bytesOf {
	case "v1":
		b, err = jsonv1.Marshal(resp)
	case "v2":
		b, err = json.Marshal(resp)
	default:
		t.Fatalf("unknown encoding %q", bytesOf)
	}
	require.NoError(t, err)
	return string(b) + "\n"
}

// TestStrategiesWriteTheSameBytes serves every query three times in a row
// with one worker of each strategy, so that pooled objects and recycled
// scopes are reused, and compares each response with what encoding/json or
// json v2 writes for the same tree built on the heap.
func TestStrategiesWriteTheSameBytes(t *testing.T) {
	wants := map[string][]string{}
	for _, bytesOf := range []string{"v1", "v2"} {
		for _, q := range workload.Queries() {
			wants[bytesOf] = append(wants[bytesOf], want(t, bytesOf, q))
		}
	}
	for _, st := range Strategies() {
		t.Run(st.Name, func(t *testing.T) {
			wk := st.NewWorker()
			for range 3 {
				for i, q := range workload.Queries() {
					var out bytes.Buffer
					require.NoError(t, wk.Serve(q, &out))
					require.Equal(t, wants[st.Bytes][i], out.String(), "%v: %s writes what %s writes", q, st.Name, st.Bytes)
				}
			}
		})
	}
}

func TestHandler(t *testing.T) {
	st, err := strategyNamed("scope+slabjson")
	require.NoError(t, err)
	h := handler(st)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/search?q=waterproof+jacket", nil))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.Equal(t, want(t, "v2", workload.Queries()[0]), rec.Body.String(), "the first query, relevance sort and page 1 by default")

	for _, bad := range []string{"/search", "/search?q=tent&sort=name", "/search?q=tent&page=0", "/search?q=tent&page=x"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, bad, nil))
		assert.Equal(t, http.StatusBadRequest, rec.Code, "%s is a bad request", bad)
	}
}

func TestRunMain(t *testing.T) {
	var out, errs bytes.Buffer
	require.NoError(t, runMain([]string{"-sample", "-alloc", "syncpool+v1"}, &out, &errs))
	assert.Equal(t, want(t, "v1", workload.Queries()[0]), out.String(), "-sample prints the first query's response")

	out.Reset()
	require.NoError(t, runMain([]string{"-compare", "-requests", "20", "-rounds", "2", "-warmup", "0", "-heap", "0"}, &out, &errs))
	for _, st := range Strategies() {
		assert.Contains(t, out.String(), "| 2 | "+st.Name+" |", "every strategy runs in every round")
	}
	assert.Contains(t, out.String(), "| syncpool+v2 | ", "the medians")

	assert.Error(t, runMain([]string{"-alloc", "arena"}, &out, &errs), "an unknown strategy")
	assert.Error(t, runMain([]string{"-rounds", "0"}, &out, &errs), "no rounds")
}

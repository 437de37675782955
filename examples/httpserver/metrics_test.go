package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/slabtrack/slabtrack/slab"
)

// metricsRuns numbers the runs of TestMetricsCountTheLeak (go test -count).
var metricsRuns atomic.Int32

// TestMetricsCountTheLeak serves the API as -leak -metrics do, prices
// orders, and finds the leaked objects in /metrics. The leak's pool has a
// name of its own in each run: other pools named "request-log", of other
// tests or runs, would be added up with it, and leave the sum when the
// garbage collector takes them.
func TestMetricsCountTheLeak(t *testing.T) {
	pool := fmt.Sprintf("request-log.metrics-test.%d", metricsRuns.Add(1))
	s, _ := newTestServer(t, "scope", jsonAuto)
	s.leak = &leakDemo{pool: slab.New[workload.AuditEvent](slab.WithName(pool)), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h := withMetrics(s.routes())

	// scrape returns the value of the metric name for the leak's pool.
	scrape := func(name string) float64 {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		require.Equal(t, http.StatusOK, rec.Code, "/metrics is served: %s", rec.Body)
		parser := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := parser.TextToMetricFamilies(rec.Body)
		require.NoError(t, err, "/metrics is in the text exposition format")
		require.Contains(t, mfs, "go_goroutines", "/metrics has the Go runtime's metrics")
		require.Contains(t, mfs, name, "/metrics has %s", name)
		for _, m := range mfs[name].Metric {
			for _, l := range m.Label {
				if l.GetName() == "pool" && l.GetValue() == pool {
					return m.GetGauge().GetValue() + m.GetCounter().GetValue()
				}
			}
		}
		require.FailNow(t, "no series", "%s has a series of pool %q", name, pool)
		return 0
	}
	const n = 7
	for range n {
		require.Equal(t, http.StatusOK, post(t, h, sampleBody()).Code, "an order is priced")
	}
	assert.Equal(t, float64(n), scrape("slabtrack_objects_live"), "one entry leaks per request")
	assert.Equal(t, float64(n), scrape("slabtrack_allocations_total"), "one entry is allocated per request")
	assert.Zero(t, scrape("slabtrack_frees_total"), "no entry is freed")
	assert.Positive(t, scrape("slabtrack_reserved_bytes"), "the pool holds a slab")
}

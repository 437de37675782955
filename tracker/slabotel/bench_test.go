package slabotel_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker/internal/metricstest"
	"github.com/slabtrack/slabtrack/tracker/slabotel"
)

// benchPools are the pools of the collection benchmark: 100 pools, each
// with some live objects, made once per process.
var benchPools = sync.OnceValue(func() []*slab.Pool[metricstest.Order] {
	ps := make([]*slab.Pool[metricstest.Order], 100)
	for i := range ps {
		ps[i] = slab.New[metricstest.Order](slab.WithName(fmt.Sprintf("bench.%03d", i)))
		for range 10 + i {
			ps[i].Alloc() // live for the life of the process
		}
	}
	return ps
})

// BenchmarkCollect100Pools measures one collection of a manual reader
// over the benchmark's 100 pools: the callback's observations and the
// SDK's aggregation of them.
func BenchmarkCollect100Pools(b *testing.B) {
	benchPools()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	reg, err := slabotel.Register(mp)
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Unregister()
	var rm metricdata.ResourceMetrics
	b.ReportAllocs()
	for b.Loop() {
		if err := reader.Collect(context.Background(), &rm); err != nil {
			b.Fatal(err)
		}
	}
}

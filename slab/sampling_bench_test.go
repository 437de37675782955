package slab_test

import (
	"runtime"
	"testing"

	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/slabtrack/slabtrack/slab"
)

// BenchmarkRequestSampling measures what WithSampling at its default period
// costs a request of BenchmarkRequest: the same pools, serial, the same
// background heap, with sampling off and on.
func BenchmarkRequestSampling(b *testing.B) {
	bg := workload.NewBackground(backgroundBytes)
	for _, c := range []struct {
		name string
		opts []slab.Option
	}{
		{"sampling=off", nil},
		{"sampling=default", []slab.Option{slab.WithSampling(0)}},
	} {
		b.Run(c.name, func(b *testing.B) {
			benchRequestSerial(b, requestStrategy{c.name, func() func() *workload.Sources {
				src := slabSources(newRequestPools(c.opts...))
				return func() *workload.Sources { return src }
			}})
		})
	}
	runtime.KeepAlive(bg)
}

//go:build slabdebug

package slab_test

import (
	"testing"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/tracker"
)

// BenchmarkCostDebugSettings measures a debug Alloc+Free pair under each
// setting that changes its cost. The default is stack=16, sample=1,
// quarantine=1024.
func BenchmarkCostDebugSettings(b *testing.B) {
	d := tracker.DefaultSettings()
	with := func(f func(*tracker.Settings)) tracker.Settings {
		s := d
		f(&s)
		return s
	}
	cases := []struct {
		name string
		s    tracker.Settings
	}{
		{"stack=0,quarantine=0", with(func(s *tracker.Settings) { s.StackDepth, s.Quarantine = 0, 0 })},
		{"stack=0", with(func(s *tracker.Settings) { s.StackDepth = 0 })},
		{"stack=16", d},
		{"stack=32", with(func(s *tracker.Settings) { s.StackDepth = 32 })},
		{"stack=16,sample=100", with(func(s *tracker.Settings) { s.SampleEvery = 100 })},
		{"stack=16,pprof", with(func(s *tracker.Settings) { s.Profile = true })},
		{"stack=16,dropped", with(func(s *tracker.Settings) { s.DropCheck = true })},
	}
	prev := tracker.CurrentSettings()
	defer func() {
		if err := tracker.Configure(prev); err != nil {
			b.Fatal(err)
		}
	}()
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if err := tracker.Configure(c.s); err != nil {
				b.Fatal(err)
			}
			p := slab.New[costObj]()
			b.ReportAllocs()
			for b.Loop() {
				x := p.Alloc()
				x.C[0] = 1
				p.Free(x)
			}
		})
	}
}

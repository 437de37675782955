package slabjson

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestShortDecimalIsStrconvs checks appendFloat's fast path against
// strconv's shortest formatting on floats of every shape: prices and
// other short decimals (where the fast path answers), integers, values
// next to them, and random bits (where it must give up or agree).
func TestShortDecimalIsStrconvs(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	n := 400_000
	if testing.Short() {
		n = 40_000
	}
	fast := 0
	for i := range n {
		var f float64
		switch i % 7 {
		case 0:
			f = float64(r.IntN(10_000_000)) / 100
		case 1:
			f = float64(r.Int64N(1<<53)) / math.Pow(10, float64(r.IntN(12)))
		case 2:
			f = math.Float64frombits(r.Uint64())
		case 3:
			f = r.Float64() * math.Pow(10, float64(r.IntN(40)-20))
		case 4:
			f = -float64(r.IntN(100_000_000)) / math.Pow(10, float64(r.IntN(9)))
		case 5:
			f = math.Nextafter(float64(r.IntN(100_000))/1000, math.Inf(2*r.IntN(2)-1))
		case 6:
			f = float64(r.Int64N(1<<52)) * math.Pow(2, float64(r.IntN(8)))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		got, ok := appendFloat(nil, f, 64)
		want := appendFloatStrconv(nil, f, 64)
		if !ok || string(got) != string(want) {
			t.Fatalf("%v (%#x): %s, want %s", f, math.Float64bits(f), got, want)
		}
		if _, _, ok := shortDecimal(f); ok {
			fast++
		}
	}
	if fast < n/4 {
		t.Errorf("the fast path answered %d of %d floats: fewer than the short decimals drawn", fast, n)
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 1e-6, 1e-7, 1 << 51, 1<<51 - 1, 0.1, 0.3, 2.675, 1e15, 123456789.12345678} {
		got, _ := appendFloat(nil, f, 64)
		if want := appendFloatStrconv(nil, f, 64); string(got) != string(want) {
			t.Errorf("%v: %s, want %s", f, got, want)
		}
	}
}

func BenchmarkAppendFloat(b *testing.B) {
	for _, c := range []struct {
		name string
		f    float64
	}{{"price", 1299.99}, {"integer", 1200}, {"score", 11.275590675083247}} {
		buf := make([]byte, 0, 64)
		b.Run("float="+c.name+"/path=fast", func(b *testing.B) {
			for b.Loop() {
				buf, _ = appendFloat(buf[:0], c.f, 64)
			}
		})
		b.Run("float="+c.name+"/path=strconv", func(b *testing.B) {
			for b.Loop() {
				buf = appendFloatStrconv(buf[:0], c.f, 64)
			}
		})
	}
}

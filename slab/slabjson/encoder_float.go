package slabjson

import (
	"math"
	"strconv"
)

// pow10 are the powers of ten that appendFloat64 tries, all exact in a
// float64.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8}

// appendFloat appends f as json v2 and encoding/json both write a float of
// bits bits (ECMAScript's number formatting: the shortest decimal that
// reads back as f, with an exponent below 1e-6 and from 1e21). It reports
// false for NaN and the infinities, which JSON cannot hold.
func appendFloat(b []byte, f float64, bits int) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	if bits == 64 {
		if d, k, ok := shortDecimal(f); ok {
			return appendDecimal(b, d, k), true
		}
	}
	return appendFloatStrconv(b, f, bits), true
}

// appendFloatStrconv is appendFloat by strconv: json v2's and
// encoding/json's own code.
func appendFloatStrconv(b []byte, f float64, bits int) []byte {
	abs := math.Abs(f)
	fmt := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			fmt = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, fmt, -1, bits)
	if fmt == 'e' {
		// Clean up e-09 to e-9.
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// shortDecimal finds, for the float64s that prices, ratings and most
// measured quantities are, the decimal that strconv's shortest formatting
// would write, without its general algorithm: f = d / 10^k with k <= 8
// fractional digits and |d| < 2^51. It reports false for every other f
// (zero included, whose sign matters), which strconv then formats.
//
// Why the result is strconv's: d and 10^k are exact float64s, so the
// division d/10^k is rounded once, as reading the decimal back rounds it;
// equality with f is exactly "reads back as f". With |d| < 2^51 the
// interval of reals that round to f is narrower than 10^-k/2, so it holds
// at most one decimal of k fractional digits, and none with fewer unless
// that one ends in 0: the first k whose d reads back, without a trailing
// 0, is the shortest. A d with a trailing 0 means that a shorter one was
// missed (f * 10^k is rounded), and the search gives up.
func shortDecimal(f float64) (d int64, k int, ok bool) {
	a := math.Abs(f)
	if !(a >= 1e-6 && a < 1<<51) {
		return 0, 0, false
	}
	for k = range pow10 {
		m := f * pow10[k]
		if m != math.Trunc(m) {
			continue
		}
		if math.Abs(m) >= 1<<51 {
			return 0, 0, false
		}
		d = int64(m)
		if float64(d)/pow10[k] != f || k > 0 && d%10 == 0 {
			return 0, 0, false
		}
		return d, k, true
	}
	return 0, 0, false
}

// appendDecimal appends d / 10^k with k fractional digits.
func appendDecimal(b []byte, d int64, k int) []byte {
	if d < 0 {
		b = append(b, '-')
		d = -d
	}
	if k == 0 {
		return strconv.AppendInt(b, d, 10)
	}
	unit := int64(pow10[k])
	b = strconv.AppendInt(b, d/unit, 10)
	b = append(b, '.')
	frac := d % unit
	// frac has k digits with its leading zeros: write them from the right.
	n := len(b)
	for range k {
		b = append(b, '0')
	}
	for i := n + k - 1; i >= n; i-- {
		b[i] = byte('0' + frac%10)
		frac /= 10
	}
	return b
}

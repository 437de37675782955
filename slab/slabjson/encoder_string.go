package slabjson

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
	"unsafe"
)

// How strings are escaped. json v2 by default escapes only what JSON
// requires (", \ and control characters) and rejects invalid UTF-8; with
// EscapeHTML it also escapes <, > and & and U+2028 and U+2029, as
// encoding/json does, which replaces invalid UTF-8 with \ufffd.
const (
	escHTML    = 1 << iota // escape <, >, &, U+2028 and U+2029
	escReplace             // write invalid UTF-8 as \ufffd, where json v2 fails
)

// safeASCII and safeHTML are 1 for the bytes that are written as they are,
// in json v2's default and with HTML escaped; bytes from 0x80 start a rune
// that appendString decodes.
var safeASCII, safeHTML = func() (a, h [256]uint8) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		if c != '"' && c != '\\' {
			a[c] = 1
			h[c] = 1
		}
	}
	h['<'], h['>'], h['&'] = 0, 0, 0
	return a, h
}()

// Masks for finding, eight bytes at a time, a byte that is not safe: one
// below 0x20, from 0x80, or equal to one of the bytes escaped. Each test
// sets the top bit of a flagged byte; borrows may flag bytes above a
// flagged one too, but never below it, so the lowest flag is exact.
const (
	swarLSB = 0x0101010101010101
	swarMSB = 0x8080808080808080
)

func hasZeroByte(x uint64) uint64 { return (x - swarLSB) &^ x & swarMSB }

// load64 returns the eight bytes of s from i, which must be within s, as a
// little-endian uint64 holds them: the first in the low bits.
func load64(s string, i int) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), i)), 8))
}

// maskJSON flags the bytes of x that JSON requires escaped or that start
// a rune: below 0x20, from 0x80, " and \. maskHTML flags <, > and &.
func maskJSON(x uint64) uint64 {
	return x&swarMSB | (x-swarLSB*0x20)&^x&swarMSB | hasZeroByte(x^swarLSB*'"') | hasZeroByte(x^swarLSB*'\\')
}

func maskHTML(x uint64) uint64 {
	return hasZeroByte(x^swarLSB*'<') | hasZeroByte(x^swarLSB*'>') | hasZeroByte(x^swarLSB*'&')
}

// firstUnsafe returns the index of the first byte of s from i that
// appendString must look at, or len(s) if there is none. A byte it returns
// may be safe after all (a borrow from a byte below i, already handled,
// can flag it): the caller looks again.
func firstUnsafe(s string, i int, html bool) int {
	for ; i+8 <= len(s); i += 8 {
		x := load64(s, i)
		m := maskJSON(x)
		if html {
			m |= maskHTML(x)
		}
		if m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	if i == len(s) {
		return i
	}
	if len(s) >= 8 {
		// The last eight bytes, less those before i, already scanned.
		j := len(s) - 8
		x := load64(s, j)
		m := maskJSON(x)
		if html {
			m |= maskHTML(x)
		}
		if m >>= 8 * (i - j); m == 0 {
			return len(s)
		}
		return i + bits.TrailingZeros64(m)>>3
	}
	safe := &safeASCII
	if html {
		safe = &safeHTML
	}
	for i < len(s) && safe[s[i]] != 0 {
		i++
	}
	return i
}

// appendString appends s to b as a JSON string, escaped as esc says. It
// reports false, having appended part of it, if s holds invalid UTF-8 and
// esc does not replace it (json v2 then reports an error).
//
// The bytes that need no escape are found eight at a time and copied in
// runs, most strings in one append; the rest goes through a table, and
// runes from 0x80 through utf8.DecodeRuneInString.
func appendString(b []byte, s string, esc int) ([]byte, bool) {
	html := esc&escHTML != 0
	i := firstUnsafe(s, 0, html)
	b = append(b, '"')
	if i == len(s) {
		b = append(b, s...)
		return append(b, '"'), true
	}
	return appendStringFrom(b, s, i, esc)
}

// appendStringFrom is appendString from s[i], the first byte that may need
// an escape, on, with the quote already written.
func appendStringFrom(b []byte, s string, i, esc int) ([]byte, bool) {
	html := esc&escHTML != 0
	safe := &safeASCII
	if html {
		safe = &safeHTML
	}
	start := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if safe[c] == 0 {
				b = append(b, s[start:i]...)
				b = appendEscapedASCII(b, c)
				start = i + 1
			}
			i = firstUnsafe(s, i+1, html)
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			if esc&escReplace == 0 {
				return b, false
			}
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			start = i + size
		case (r == '\u2028' || r == '\u2029') && html:
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexLower[r&0xf])
			start = i + size
		}
		i = firstUnsafe(s, i+size, html)
	}
	b = append(b, s[start:]...)
	return append(b, '"'), true
}

const hexLower = "0123456789abcdef"

// appendEscapedASCII appends the escape of c, as json v2 and encoding/json
// both write it: the short forms where JSON has one, else \u00XX.
func appendEscapedASCII(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexLower[c>>4], hexLower[c&0xf])
}

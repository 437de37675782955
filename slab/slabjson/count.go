package slabjson

import "github.com/go-json-experiment/json/jsontext"

// Array lengths, read ahead. A hooked slice gets a backing array of the
// exact length of its JSON array before json v2's own slice function
// decodes into it, which it does without growing it and faster than
// element by element. The length comes from a scan of the raw input: the
// scan of an array records the lengths of every array inside it too, in
// the order they begin, which is the order json v2 then decodes them in,
// so every byte of the input is scanned at most once.

// arrayLen is the length of the array that begins at input offset off; n
// is -1 while the scan has not reached its end.
type arrayLen struct {
	off int64
	n   int
}

// arrayLens holds the lengths of the arrays within the last array scanned,
// for one Unmarshal.
type arrayLens struct {
	lens []arrayLen // in the order the arrays begin
	next int        // lens[:next] are of arrays already decoded or passed
	// open holds, for each array or object the scan is in, the index in
	// lens of the array, or -1 for an object.
	open []int
	// failed is set once a scan ran out of input: what follows is not
	// valid JSON, and is not scanned again.
	failed bool
}

// maxLens bounds the lengths a state keeps room for across calls.
const maxLens = 4096

func (a *arrayLens) reset() {
	if cap(a.lens) > maxLens {
		a.lens, a.open = nil, nil
	}
	a.lens, a.next, a.failed = a.lens[:0], 0, false
}

// length returns the number of elements of the JSON array that dec is about
// to read (its PeekKind is '['), or false if the input cannot tell: it is
// not all in dec's buffer, or it is not valid JSON (json v2 then reports
// the error).
func (a *arrayLens) length(dec *jsontext.Decoder) (int, bool) {
	buf := dec.UnreadBuffer()
	k := 0
	for k < len(buf) && buf[k] != '[' {
		switch buf[k] {
		case ' ', '\t', '\n', '\r', ',', ':':
			k++
		default:
			return 0, false
		}
	}
	off := dec.InputOffset() + int64(k)
	for a.next < len(a.lens) && a.lens[a.next].off < off {
		a.next++ // an array no hook decoded
	}
	if a.next < len(a.lens) && a.lens[a.next].off == off {
		n := a.lens[a.next].n
		a.next++
		return n, n >= 0
	}
	a.lens, a.next = a.lens[:0], 0
	if a.failed || !a.scan(buf[k:], off) {
		a.lens, a.failed = a.lens[:0], true
		return 0, false
	}
	a.next = 1
	return a.lens[0].n, true
}

// scan reads the array that b begins with, whose offset in the input is
// base, and records its length and those of the arrays within it. It
// reports false if b ends before the array does. It only counts, and
// trusts the input to be JSON: json v2 validates it as it decodes it, and
// a miscount of invalid input costs only a heap allocation. An array has
// one element more than the commas directly in it, unless it is empty.
func (a *arrayLens) scan(b []byte, base int64) bool {
	open := a.open[:0]
	for i := 0; i < len(b); i++ {
		switch scanClass[b[i]] {
		case scanNone:
		case scanQuote:
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case scanOpenArray:
			n := 1
			if emptyArray(b[i+1:]) {
				n = 0
			}
			open = append(open, len(a.lens))
			a.lens = append(a.lens, arrayLen{off: base + int64(i), n: n})
		case scanOpenObject:
			open = append(open, -1)
		case scanClose:
			if len(open) == 1 {
				a.open = open[:0]
				return true
			}
			if len(open) == 0 {
				return false // not JSON: b began with the array
			}
			open = open[:len(open)-1]
		case scanComma:
			if len(open) > 0 {
				if k := open[len(open)-1]; k >= 0 {
					a.lens[k].n++
				}
			}
		}
	}
	a.open = open[:0]
	return false
}

// emptyArray reports whether b, what follows a '[', closes the array
// before any value.
func emptyArray(b []byte) bool {
	i := skipSpace(b)
	return i < len(b) && b[i] == ']'
}

// skipSpace returns the index of the first byte of b that is not JSON
// whitespace, or len(b).
func skipSpace(b []byte) int {
	for i, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
		default:
			return i
		}
	}
	return len(b)
}

// The classes of bytes for scan.
const (
	scanNone = iota
	scanQuote
	scanOpenArray
	scanOpenObject
	scanClose
	scanComma
)

var scanClass = [256]uint8{
	'"': scanQuote,
	'[': scanOpenArray,
	'{': scanOpenObject,
	']': scanClose,
	'}': scanClose,
	',': scanComma,
}

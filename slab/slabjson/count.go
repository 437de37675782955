package slabjson

import (
	"bytes"

	"github.com/go-json-experiment/json/jsontext"
)

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
	lens   []arrayLen // in the order the arrays begin
	next   int        // lens[:next] are of arrays already decoded or passed
	frames []scanFrame
	// failed is set once a scan ran out of input: what follows is not
	// valid JSON, and is not scanned again.
	failed bool
}

// scanFrame is an open array or object of a scan.
type scanFrame struct {
	array bool
	idx   int  // index in lens, for an array
	value bool // a value has begun since the last comma
}

// maxLens bounds the lengths a state keeps room for across calls.
const maxLens = 4096

func (a *arrayLens) reset() {
	if cap(a.lens) > maxLens {
		a.lens, a.frames = nil, nil
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
// reports false if b ends before the array does. It only counts: json v2
// validates the input as it decodes it.
func (a *arrayLens) scan(b []byte, base int64) bool {
	a.frames = a.frames[:0]
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case ' ', '\t', '\n', '\r', ':':
			continue
		case ',':
			if n := len(a.frames); n > 0 {
				f := &a.frames[n-1]
				if f.array {
					a.lens[f.idx].n++
				}
				f.value = false
			}
			continue
		case ']', '}':
			n := len(a.frames)
			if n == 0 {
				return false
			}
			f := a.frames[n-1]
			a.frames = a.frames[:n-1]
			if f.array {
				l := &a.lens[f.idx].n
				*l++ // from -1: the commas counted the elements before the last
				if f.value {
					*l++
				}
			}
			if n == 1 {
				return true
			}
			continue
		}
		// The start of a value, or a part of a number or literal.
		if n := len(a.frames); n > 0 {
			a.frames[n-1].value = true
		}
		switch c {
		case '"':
			j, ok := stringEnd(b, i)
			if !ok {
				return false
			}
			i = j
		case '[':
			a.frames = append(a.frames, scanFrame{array: true, idx: len(a.lens)})
			a.lens = append(a.lens, arrayLen{off: base + int64(i), n: -1})
		case '{':
			a.frames = append(a.frames, scanFrame{})
		}
	}
	return false
}

// stringEnd returns the index of the quote that ends the JSON string whose
// opening quote is b[i].
func stringEnd(b []byte, i int) (int, bool) {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, false
		}
		j += k
		escapes := 0
		for m := j - 1; m > i && b[m] == '\\'; m-- {
			escapes++
		}
		if escapes%2 == 0 {
			return j, true
		}
		j++
	}
}

package slabjson

import (
	"math"
	"reflect"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/go-json-experiment/json"

	"github.com/slabtrack/slabtrack/internal/typed"
	"github.com/slabtrack/slabtrack/slab/internal/scopeapi"
)

// The decoder. It reads the input once, validating it as it goes as json
// v2's jsontext does (UTF-8, escapes, numbers, literals, duplicate names in
// every object, nesting depth, nothing after the value), and places what it
// decodes in the scope: a string's bytes, the object of a nil pointer, a
// slice's backing array of the exact length of its JSON array, a map made
// in the scope (see slab.MakeMapIn). It allocates nothing for a value it
// has not read whole and valid: the elements of an array are decoded into
// scratch memory the decoding state keeps, and moved into the scope once
// the array has ended, so an array cut short or holding a bad element takes
// no scope memory.
//
// The decoder only decides whether the input is valid JSON for the type. On
// anything it does not accept it stops, and Unmarshal decodes the input
// again with json v2 into the same value, which reports json v2's error
// (or decodes what the decoder was too strict for): so the errors are json
// v2's, and the decoder never succeeds where json v2 fails, as the
// differential fuzz test checks.

// maxDepth is jsontext's bound on nesting.
const maxDepth = 10000

// decodeState is one Unmarshal call's state; states are pooled.
type decodeState struct {
	data []byte
	i    int
	// st is the scope's state, entered for the call.
	st    unsafe.Pointer
	depth int
	// limit is set when the scope's limit refused an allocation: the
	// error to return, not a reason to decode again.
	limit error
	// unq holds an unescaped string.
	unq []byte
	// names holds the names seen in the objects being decoded that no
	// field took, or all of a map's keys, to find duplicates.
	names nameSet
	// scratch holds the elements of the arrays being decoded, by element
	// plan, until their arrays end.
	scratch map[*plan]*scratch
}

// fail reports that the input is not what the decoder accepts.
func fail() bool { return false }

// ws skips JSON whitespace.
func (d *decodeState) ws() {
	i, data := d.i, d.data
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
			continue
		}
		break
	}
	d.i = i
}

// peek returns the next byte, or 0 at the end.
func (d *decodeState) peek() byte {
	if d.i < len(d.data) {
		return d.data[d.i]
	}
	return 0
}

// literal consumes the literal lit (true, false, null) if it is next.
func (d *decodeState) literal(lit string) bool {
	if len(d.data)-d.i >= len(lit) && string(d.data[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

// value decodes the next value into the value of plan p at ptr.
func (d *decodeState) value(p *plan, ptr unsafe.Pointer) bool {
	c := d.peek()
	if c == 'n' && p.kind != kindRaw && p.kind != kindFallback {
		if !d.literal("null") {
			return fail()
		}
		d.zero(p, ptr)
		return true
	}
	switch p.kind {
	case kindBool:
		switch {
		case d.literal("true"):
			*(*bool)(ptr) = true
		case d.literal("false"):
			*(*bool)(ptr) = false
		default:
			return fail()
		}
		return true
	case kindInt:
		return d.int(p, ptr)
	case kindUint:
		return d.uint(p, ptr)
	case kindFloat:
		return d.float(p, ptr)
	case kindString:
		if c != '"' {
			return fail()
		}
		s, ok := d.string()
		if !ok {
			return false
		}
		*(*string)(ptr) = s
		return true
	case kindStruct:
		if c != '{' {
			return fail()
		}
		return d.object(p, ptr)
	case kindPointer:
		obj := *(*unsafe.Pointer)(ptr)
		if obj == nil {
			if obj = d.alloc(p.et, 1, p.elem.size); obj == nil {
				return false
			}
			*(*unsafe.Pointer)(ptr) = obj
		}
		return d.value(p.elem, obj)
	case kindSlice:
		if c != '[' {
			return fail()
		}
		return d.slice(p, ptr)
	case kindArray:
		if c != '[' {
			return fail()
		}
		return d.array(p, ptr)
	case kindMap:
		if c != '{' {
			return fail()
		}
		return d.mapValue(p, ptr)
	case kindRaw:
		return d.raw(p, ptr)
	}
	return d.fallback(p, ptr)
}

// zero stores the zero value of plan p at ptr, as null does.
func (d *decodeState) zero(p *plan, ptr unsafe.Pointer) {
	if p.ptrs {
		typed.ClearPointers(ptr, p.size)
		return
	}
	clear(unsafe.Slice((*byte)(ptr), p.size))
}

// alloc returns zeroed scope memory for n values of the element type et
// of size bytes each, or nil if the scope's limit refuses it (d.limit then
// says so).
func (d *decodeState) alloc(et unsafe.Pointer, n int, size uintptr) unsafe.Pointer {
	p := scopeapi.Alloc(d.st, et, n)
	if p == nil && d.limit == nil {
		d.limit = scopeapi.LimitError(d.st, "", uintptr(n)*size)
	}
	return p
}

// int decodes a JSON number without fraction or exponent into a signed
// integer of p.bits bits, as json v2 does.
func (d *decodeState) int(p *plan, ptr unsafe.Pointer) bool {
	data, i := d.data, d.i
	neg := false
	if i < len(data) && data[i] == '-' {
		neg = true
		i++
	}
	v, i, ok := digits(data, i)
	if !ok || i < len(data) && (data[i] == '.' || data[i] == 'e' || data[i] == 'E') {
		return fail()
	}
	limit := uint64(1) << (p.bits - 1)
	if v > limit || v == limit && !neg {
		return fail()
	}
	n := int64(v)
	if neg {
		n = -n
	}
	switch p.bits {
	case 8:
		*(*int8)(ptr) = int8(n)
	case 16:
		*(*int16)(ptr) = int16(n)
	case 32:
		*(*int32)(ptr) = int32(n)
	default:
		*(*int64)(ptr) = n
	}
	d.i = i
	return true
}

// uint decodes a JSON number without sign, fraction or exponent into an
// unsigned integer of p.bits bits.
func (d *decodeState) uint(p *plan, ptr unsafe.Pointer) bool {
	data := d.data
	v, i, ok := digits(data, d.i)
	if !ok || i < len(data) && (data[i] == '.' || data[i] == 'e' || data[i] == 'E') {
		return fail()
	}
	if p.bits < 64 && v >= 1<<p.bits {
		return fail()
	}
	switch p.bits {
	case 8:
		*(*uint8)(ptr) = uint8(v)
	case 16:
		*(*uint16)(ptr) = uint16(v)
	case 32:
		*(*uint32)(ptr) = uint32(v)
	default:
		*(*uint64)(ptr) = v
	}
	d.i = i
	return true
}

// digits reads the integer part of a JSON number at data[i:] (no leading
// zeros) and returns its value, where it ends, and false if it is not a
// valid integer part or does not fit 64 bits.
func digits(data []byte, i int) (uint64, int, bool) {
	if i >= len(data) || data[i] < '0' || data[i] > '9' {
		return 0, i, false
	}
	if data[i] == '0' {
		i++
		return 0, i, i >= len(data) || data[i] < '0' || data[i] > '9'
	}
	var v uint64
	for ; i < len(data) && data[i] >= '0' && data[i] <= '9'; i++ {
		c := uint64(data[i] - '0')
		if v > (math.MaxUint64-c)/10 {
			return 0, i, false
		}
		v = v*10 + c
	}
	return v, i, true
}

// number returns the end of the JSON number at d.i, and false if there is
// none there.
func (d *decodeState) number() (int, bool) {
	data, i := d.data, d.i
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data):
		return i, false
	case data[i] == '0':
		i++
	case data[i] >= '1' && data[i] <= '9':
		for i++; i < len(data) && data[i] >= '0' && data[i] <= '9'; i++ {
		}
	default:
		return i, false
	}
	if i < len(data) && data[i] == '.' {
		i++
		start := i
		for ; i < len(data) && data[i] >= '0' && data[i] <= '9'; i++ {
		}
		if i == start {
			return i, false
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		start := i
		for ; i < len(data) && data[i] >= '0' && data[i] <= '9'; i++ {
		}
		if i == start {
			return i, false
		}
	}
	return i, true
}

// float decodes a JSON number into a float of p.bits bits; one out of its
// range fails, as in json v2.
func (d *decodeState) float(p *plan, ptr unsafe.Pointer) bool {
	end, ok := d.number()
	if !ok {
		return fail()
	}
	s := unsafe.String(&d.data[d.i], end-d.i)
	f, err := strconv.ParseFloat(s, p.bits)
	if err != nil {
		return fail()
	}
	if p.bits == 32 {
		*(*float32)(ptr) = float32(f)
	} else {
		*(*float64)(ptr) = f
	}
	d.i = end
	return true
}

// strSafe marks the bytes that a JSON string holds as they are: printable
// ASCII but the quote and the backslash.
var strSafe = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString reads the JSON string at d.i (a quote) and returns where its
// contents begin and end in d.data, and whether they hold escapes. It
// checks the string as jsontext does: no control characters, valid escapes
// and surrogate pairs, valid UTF-8.
func (d *decodeState) scanString() (start, end int, esc, ok bool) {
	data := d.data
	i := d.i + 1
	start = i
	for {
		for i < len(data) && strSafe[data[i]] {
			i++
		}
		if i >= len(data) {
			return start, i, esc, false
		}
		switch c := data[i]; {
		case c == '"':
			d.i = i + 1
			return start, i, esc, true
		case c == '\\':
			esc = true
			n, ok := escapeLen(data[i:])
			if !ok {
				return start, i, esc, false
			}
			i += n
		case c < 0x20:
			return start, i, esc, false
		default:
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n == 1 {
				return start, i, esc, false
			}
			i += n
		}
	}
}

// escapeLen returns the length of the escape that b begins with (a
// backslash), a surrogate pair's two escapes together, and false if it is
// not valid.
func escapeLen(b []byte) (int, bool) {
	if len(b) < 2 {
		return 0, false
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, true
	case 'u':
		r, ok := hex4(b[2:])
		if !ok {
			return 0, false
		}
		if !utf16.IsSurrogate(r) {
			return 6, true
		}
		if r >= 0xdc00 || len(b) < 12 || b[6] != '\\' || b[7] != 'u' {
			return 0, false
		}
		r2, ok := hex4(b[8:])
		if !ok || r2 < 0xdc00 || r2 > 0xdfff {
			return 0, false
		}
		return 12, true
	}
	return 0, false
}

// hex4 reads four hexadecimal digits.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// unescape appends the contents of a checked JSON string with escapes to
// dst.
func unescape(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		if c != '\\' {
			j := i + 1
			for j < len(b) && b[j] != '\\' {
				j++
			}
			dst = append(dst, b[i:j]...)
			i = j
			continue
		}
		switch b[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(b[i+2:])
			if utf16.IsSurrogate(r) {
				r2, _ := hex4(b[i+8:])
				r = utf16.DecodeRune(r, r2)
				i += 6
			}
			dst = utf8.AppendRune(dst, r)
			i += 6
			continue
		default: // " \ /
			dst = append(dst, b[i+1])
		}
		i += 2
	}
	return dst
}

// stringBytes reads the JSON string at d.i and returns its contents,
// unescaped: a view of the input, or of d.unq, valid until the next call.
func (d *decodeState) stringBytes() ([]byte, bool) {
	start, end, esc, ok := d.scanString()
	if !ok {
		return nil, false
	}
	if !esc {
		return d.data[start:end], true
	}
	d.unq = unescape(d.unq[:0], d.data[start:end])
	return d.unq, true
}

// string reads the JSON string at d.i and returns it with its bytes in the
// scope.
func (d *decodeState) string() (string, bool) {
	b, ok := d.stringBytes()
	if !ok || len(b) == 0 {
		return "", ok
	}
	p := d.alloc(bytesType, len(b), 1)
	if p == nil {
		return "", false
	}
	copy(unsafe.Slice((*byte)(p), len(b)), b)
	return unsafe.String((*byte)(p), len(b)), true
}

var bytesType = scopeapi.ElemType(reflect.TypeFor[byte]())

// enter goes one level deeper, and reports false past maxDepth.
func (d *decodeState) enter() bool {
	d.depth++
	return d.depth <= maxDepth
}

// object decodes a JSON object into the struct of plan p at ptr. Members
// are usually in the order of the fields, so the field after the last one
// matched is tried first.
func (d *decodeState) object(p *plan, ptr unsafe.Pointer) bool {
	if !d.enter() {
		return fail()
	}
	d.i++ // {
	d.ws()
	if d.peek() == '}' {
		d.i++
		d.depth--
		return true
	}
	var seen [maxFields / 64]uint64
	mark := d.names.mark()
	next := 0
	for {
		if d.peek() != '"' {
			return fail()
		}
		name, ok := d.stringBytes()
		if !ok {
			return false
		}
		d.ws()
		if d.peek() != ':' {
			return fail()
		}
		d.i++
		d.ws()
		k := -1
		if next < len(p.fields) && p.fields[next].name == string(name) {
			k = next
		} else {
			k = p.find(name)
		}
		if k >= 0 {
			if seen[k/64]&(1<<(k%64)) != 0 {
				return fail() // a duplicate name
			}
			seen[k/64] |= 1 << (k % 64)
			next = k + 1
			f := &p.fields[k]
			if !d.value(f.plan, unsafe.Add(ptr, f.off)) {
				return false
			}
		} else {
			if !d.names.add(mark, name) {
				return false
			}
			if e := p.embed; e != nil {
				if !d.mapEntry(e.plan, unsafe.Add(ptr, e.off), name) {
					return false
				}
			} else if !d.skip() {
				return false
			}
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.i++
			d.ws()
			continue
		case '}':
			d.i++
			d.names.release(mark)
			d.depth--
			return true
		}
		return fail()
	}
}

// slice decodes a JSON array into the slice of plan p at ptr: the
// elements into scratch memory, then into a backing array of their number
// in the scope (or the slice's own if it has room, as json v2 reuses it).
func (d *decodeState) slice(p *plan, ptr unsafe.Pointer) bool {
	if !d.enter() {
		return fail()
	}
	d.i++ // [
	d.ws()
	hdr := (*sliceHeader)(ptr)
	if d.peek() == ']' {
		d.i++
		d.depth--
		if hdr.data == nil {
			hdr.data = unsafe.Pointer(&zeroBase)
		}
		hdr.len = 0
		return true
	}
	sc := d.scratchOf(p.elem)
	base := sc.n
	for {
		if !d.value(p.elem, sc.push()) {
			return d.keepPartial(p, hdr, sc, base, sc.n-1)
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.i++
			d.ws()
			continue
		case ']':
			d.i++
		default:
			return d.keepPartial(p, hdr, sc, base, sc.n)
		}
		break
	}
	n := sc.n - base
	dst, c := hdr.data, hdr.cap
	if dst == nil || c < n {
		if dst = d.alloc(p.et, n, p.elem.size); dst == nil {
			sc.pop(base)
			return false
		}
		c = n
	}
	sc.moveTo(dst, base)
	hdr.data, hdr.len, hdr.cap = dst, n, c
	d.depth--
	return true
}

// keepPartial ends the decoding of a slice that failed after its elements
// from base on were pushed, those before end whole: it moves those into
// the slice, with room for one more (json v2 appends an element before it
// decodes into it), leaves its length 0, and fails. Unmarshal then decodes
// the input again with json v2, which appends to the slice into its room:
// it needs no new backing array for the elements the decoder read, as it
// would if the slice were left empty, so the two passes allocate no more
// for them than json v2 alone. If no element was whole, or the scope's
// limit refused memory, it keeps nothing.
func (d *decodeState) keepPartial(p *plan, hdr *sliceHeader, sc *scratch, base, end int) bool {
	n := end - base
	if n == 0 || d.limit != nil {
		sc.pop(base)
		return false
	}
	sc.pop(end) // the element that failed
	dst, c := hdr.data, hdr.cap
	if dst == nil || c < n+1 {
		if dst = d.alloc(p.et, n+1, p.elem.size); dst == nil {
			sc.pop(base)
			return false
		}
		c = n + 1
	}
	sc.moveTo(dst, base)
	hdr.data, hdr.len, hdr.cap = dst, 0, c
	return false
}

// zeroBase is where an empty slice that json v2 would make points.
var zeroBase [0]uint64

// array decodes a JSON array of exactly p.n elements into the array at ptr,
// each element zeroed before it is decoded into, as in json v2.
func (d *decodeState) array(p *plan, ptr unsafe.Pointer) bool {
	if !d.enter() {
		return fail()
	}
	d.i++ // [
	d.ws()
	k := 0
	if d.peek() == ']' {
		d.i++
	} else {
		for {
			if k == p.n {
				return fail()
			}
			elem := unsafe.Add(ptr, uintptr(k)*p.elem.size)
			d.zero(p.elem, elem)
			if !d.value(p.elem, elem) {
				return false
			}
			k++
			d.ws()
			switch d.peek() {
			case ',':
				d.i++
				d.ws()
				continue
			case ']':
				d.i++
			default:
				return fail()
			}
			break
		}
	}
	d.depth--
	return k == p.n
}

// mapValue decodes a JSON object into the map of plan p at ptr, made in
// the scope if it is nil.
func (d *decodeState) mapValue(p *plan, ptr unsafe.Pointer) bool {
	if !d.enter() {
		return fail()
	}
	d.i++ // {
	if *(*unsafe.Pointer)(ptr) == nil && !d.makeMap(p, ptr) {
		return false
	}
	d.ws()
	if d.peek() == '}' {
		d.i++
		d.depth--
		return true
	}
	mark := d.names.mark()
	for {
		if d.peek() != '"' {
			return fail()
		}
		name, ok := d.stringBytes()
		if !ok || !d.names.add(mark, name) {
			return false
		}
		d.ws()
		if d.peek() != ':' {
			return fail()
		}
		d.i++
		d.ws()
		if !d.mapEntry(p, ptr, name) {
			return false
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.i++
			d.ws()
			continue
		case '}':
			d.i++
			d.names.release(mark)
			d.depth--
			return true
		}
		return fail()
	}
}

// makeMap stores a new map of plan p, made in the scope, at ptr.
func (d *decodeState) makeMap(p *plan, ptr unsafe.Pointer) bool {
	x := scopeapi.MakeMap(d.st, p.typ, 0)
	if x == nil {
		d.limit = scopeapi.LimitError(d.st, p.typ.String(), 0)
		return false
	}
	*(*unsafe.Pointer)(ptr) = (*[2]unsafe.Pointer)(unsafe.Pointer(&x))[1]
	return true
}

// mapEntry decodes the next value as the value of key name of the map of
// plan p at ptr, made in the scope if it is nil: the key's bytes in the
// scope, the value decoded into the value the key has, if any, as json v2
// does.
func (d *decodeState) mapEntry(p *plan, ptr unsafe.Pointer, name []byte) bool {
	if *(*unsafe.Pointer)(ptr) == nil && !d.makeMap(p, ptr) {
		return false
	}
	m := *(*unsafe.Pointer)(ptr)
	if n := uintptr(len(name)) + p.elem.size; !scopeapi.Take(d.st, n) {
		d.limit = scopeapi.LimitError(d.st, p.typ.String(), n)
		return false
	}
	key := ""
	if len(name) > 0 {
		kp := d.alloc(bytesType, len(name), 1)
		if kp == nil {
			return false
		}
		copy(unsafe.Slice((*byte)(kp), len(name)), name)
		key = unsafe.String((*byte)(kp), len(name))
	}
	sc := d.scratchOf(p.elem)
	tmp := sc.push()
	if old, ok := typed.MapAccess(p.rtype, m, key); ok {
		typed.Move(p.elem.rtype, tmp, old)
	}
	if !d.value(p.elem, tmp) {
		sc.pop(sc.n - 1)
		return false
	}
	typed.Move(p.elem.rtype, typed.MapAssign(p.rtype, m, key), tmp)
	sc.pop(sc.n - 1)
	return true
}

// raw copies the next value's bytes, as they are, into the scope, for a
// json.RawMessage or jsontext.Value: what json v2 gives them. A slice with
// room keeps its backing array, as append would.
func (d *decodeState) raw(p *plan, ptr unsafe.Pointer) bool {
	start := d.i
	if !d.skip() {
		return false
	}
	b := d.data[start:d.i]
	hdr := (*sliceHeader)(ptr)
	dst := hdr.data
	if dst == nil || hdr.cap < len(b) {
		if dst = d.alloc(bytesType, len(b), 1); dst == nil {
			return false
		}
		hdr.cap = len(b)
	}
	copy(unsafe.Slice((*byte)(dst), len(b)), b)
	hdr.data, hdr.len = dst, len(b)
	return true
}

// fallback decodes the next value into the value of plan p at ptr with
// json v2, on the heap, after checking it as the rest of the input is.
func (d *decodeState) fallback(p *plan, ptr unsafe.Pointer) bool {
	start := d.i
	if !d.skip() {
		return false
	}
	return json.Unmarshal(d.data[start:d.i], reflect.NewAt(p.typ, ptr).Interface()) == nil
}

// skip reads the next value and checks it, as jsontext does.
func (d *decodeState) skip() bool {
	switch d.peek() {
	case '"':
		_, _, _, ok := d.scanString()
		return ok
	case '{':
		return d.skipObject()
	case '[':
		return d.skipArray()
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	}
	end, ok := d.number()
	d.i = end
	return ok
}

func (d *decodeState) skipObject() bool {
	if !d.enter() {
		return fail()
	}
	d.i++
	d.ws()
	if d.peek() == '}' {
		d.i++
		d.depth--
		return true
	}
	mark := d.names.mark()
	for {
		if d.peek() != '"' {
			return fail()
		}
		name, ok := d.stringBytes()
		if !ok || !d.names.add(mark, name) {
			return false
		}
		d.ws()
		if d.peek() != ':' {
			return fail()
		}
		d.i++
		d.ws()
		if !d.skip() {
			return false
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.i++
			d.ws()
			continue
		case '}':
			d.i++
			d.names.release(mark)
			d.depth--
			return true
		}
		return fail()
	}
}

func (d *decodeState) skipArray() bool {
	if !d.enter() {
		return fail()
	}
	d.i++
	d.ws()
	if d.peek() == ']' {
		d.i++
		d.depth--
		return true
	}
	for {
		if !d.skip() {
			return false
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.i++
			d.ws()
			continue
		case ']':
			d.i++
			d.depth--
			return true
		}
		return fail()
	}
}

// sliceHeader is the layout of a slice value.
type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

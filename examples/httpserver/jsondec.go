package main

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// A reader for PriceRequest bodies, the default of -json. encoding/json
// decodes the sample order in about 80 µs and 140 allocations, more than
// all the rest of a request together, which would hide what the allocation
// strategies change. This reader knows the one schema: it reads the body
// into the request's reusable buffer, copies it into one string, and slices
// every unescaped string value out of that copy, so a request costs one
// allocation (plus one per string that holds escapes) and a few µs.
//
// It accepts what encoding/json with DisallowUnknownFields accepts for this
// schema, and refuses the rest with the same status and error code
// (jsondec_test.go checks both decoders against each other): field names
// match case-insensitively, null leaves a field at its zero value, a
// duplicate field takes the last value, numbers of integer fields must be
// integers that fit, invalid UTF-8 in strings becomes U+FFFD.

// readRequestBody reads the body, at most maxBodyBytes, into buf.
func readRequestBody(w http.ResponseWriter, body io.ReadCloser, buf []byte) ([]byte, error) {
	r := http.MaxBytesReader(w, body, maxBodyBytes)
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// decodeFast decodes body into r with the schema reader.
func decodeFast(w http.ResponseWriter, body io.ReadCloser, r *PriceRequest, buf *[]byte, strs *[]string) *apiError {
	b, err := readRequestBody(w, body, *buf)
	*buf = b
	if err != nil {
		return decodeError(err)
	}
	d := jsonReader{s: string(b), strs: strs}
	*strs = (*strs)[:0]
	d.ws()
	if d.i == len(d.s) {
		return decodeError(io.EOF)
	}
	if err := d.priceRequest(r); err != nil {
		// encoding/json finds syntax errors before any other, wherever
		// they are: so must this reader.
		if err.Code != "malformed_json" {
			if syn := checkSyntax(d.s); syn != nil {
				return syn
			}
		}
		return err
	}
	d.ws()
	if d.i != len(d.s) {
		return badRequest("malformed_json", "unexpected data after the JSON object")
	}
	return nil
}

// checkSyntax returns the first syntax error of the first JSON value in s,
// or nil. (What follows the value is looked at only once it decoded.)
func checkSyntax(s string) *apiError {
	d := jsonReader{s: s, strs: new([]string)}
	return d.skipValue()
}

// jsonReader reads JSON values from s, at offset i.
type jsonReader struct {
	s          string
	i          int
	valueStart int // where the value skipValue read starts
	// path[:depth] are the field names leading to the current value, for
	// errors; the schema is three levels deep.
	path  [4]string
	depth int
	// strs backs the []string values (tags, coupons) of one request.
	strs *[]string
}

func (d *jsonReader) fieldPath() string { return strings.Join(d.path[:min(d.depth, len(d.path))], ".") }

func (d *jsonReader) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *jsonReader) syntax(what string) *apiError {
	if d.i >= len(d.s) {
		return badRequest("malformed_json", "the JSON body ends too early")
	}
	return badRequest("malformed_json", "malformed JSON at byte %d: %s, found %q", d.i, what, d.s[d.i])
}

func (d *jsonReader) typeError(want string) *apiError {
	got := "value"
	if d.i < len(d.s) {
		switch c := d.s[d.i]; {
		case c == '"':
			got = "string"
		case c == '{':
			got = "object"
		case c == '[':
			got = "array"
		case c == 't' || c == 'f':
			got = "bool"
		default:
			got = "number"
		}
	}
	return badRequest("invalid_field", "field %q must be %s, not JSON %s", d.fieldPath(), want, got)
}

// null consumes a null literal if there is one.
func (d *jsonReader) null() bool {
	if strings.HasPrefix(d.s[d.i:], "null") {
		d.i += 4
		return true
	}
	return false
}

// object reads an object, calling field for each member with the reader
// positioned at the value. A null object is accepted and leaves the target
// unchanged.
func (d *jsonReader) object(want string, field func(name string) *apiError) *apiError {
	d.ws()
	if d.null() {
		return nil
	}
	if d.i >= len(d.s) {
		return d.syntax("expected a value")
	}
	if d.s[d.i] != '{' {
		if !startsValue(d.s[d.i]) {
			return d.syntax("expected a value")
		}
		return d.typeError(want)
	}
	d.i++
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		return nil
	}
	for {
		d.ws()
		if d.i >= len(d.s) || d.s[d.i] != '"' {
			return d.syntax("expected a field name")
		}
		name, err := d.str()
		if err != nil {
			return err
		}
		d.ws()
		if d.i >= len(d.s) || d.s[d.i] != ':' {
			return d.syntax("expected ':' after a field name")
		}
		d.i++
		d.ws()
		if d.depth < len(d.path) {
			d.path[d.depth] = name
		}
		d.depth++
		if err := field(name); err != nil {
			return err
		}
		d.depth--
		d.ws()
		if d.i >= len(d.s) {
			return d.syntax("expected ',' or '}'")
		}
		switch d.s[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return nil
		default:
			return d.syntax("expected ',' or '}' after an object field")
		}
	}
}

// array reads an array, calling elem for each element.
func (d *jsonReader) array(want string, elem func() *apiError) (null bool, err *apiError) {
	d.ws()
	if d.null() {
		return true, nil
	}
	if d.i >= len(d.s) {
		return false, d.syntax("expected a value")
	}
	if d.s[d.i] != '[' {
		if !startsValue(d.s[d.i]) {
			return false, d.syntax("expected a value")
		}
		return false, d.typeError(want)
	}
	d.i++
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		return false, nil
	}
	for {
		if err := elem(); err != nil {
			return false, err
		}
		d.ws()
		if d.i >= len(d.s) {
			return false, d.syntax("expected ',' or ']'")
		}
		switch d.s[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return false, nil
		default:
			return false, d.syntax("expected ',' or ']' after an array element")
		}
	}
}

func startsValue(c byte) bool {
	return c == '"' || c == '{' || c == '[' || c == 't' || c == 'f' || c == 'n' || c == '-' || (c >= '0' && c <= '9')
}

// stringField reads a string value into *dst; null leaves it unchanged.
func (d *jsonReader) stringField(dst *string) *apiError {
	d.ws()
	if d.null() {
		return nil
	}
	if d.i >= len(d.s) || d.s[d.i] != '"' {
		if d.i < len(d.s) && startsValue(d.s[d.i]) {
			if err := d.skipValue(); err != nil {
				return err
			}
			d.i = d.valueStart
			return d.typeError("string")
		}
		return d.syntax("expected a value")
	}
	s, err := d.str()
	if err != nil {
		return err
	}
	*dst = s
	return nil
}

// str reads a string; the reader is at its opening quote.
func (d *jsonReader) str() (string, *apiError) {
	d.i++
	start := d.i
	ascii := true
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			s := d.s[start:d.i]
			if !ascii && !utf8.ValidString(s) {
				d.i = start
				return d.strSlow(start) // replaces each invalid byte
			}
			d.i++
			return s, nil
		case c == '\\':
			if !ascii {
				// The prefix may hold invalid UTF-8: strSlow must see
				// it, to replace each invalid byte as encoding/json does.
				d.i = start
			}
			return d.strSlow(start)
		case c < 0x20:
			return "", d.syntax("control character in a string")
		case c >= utf8.RuneSelf:
			ascii = false
		}
		d.i++
	}
	return "", d.syntax("unterminated string")
}

// strSlow reads the rest of a string that holds escapes, from start.
func (d *jsonReader) strSlow(start int) (string, *apiError) {
	b := []byte(d.s[start:d.i])
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return string(b), nil
		case c < 0x20:
			return "", d.syntax("control character in a string")
		case c == '\\':
			d.i++
			if d.i >= len(d.s) {
				return "", d.syntax("unterminated string")
			}
			e := d.s[d.i]
			d.i++
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					return "", d.syntax("invalid \\u escape")
				}
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if strings.HasPrefix(d.s[d.i:], `\u`) {
						save := d.i
						d.i += 2
						var ok2 bool
						if r2, ok2 = d.hex4(); !ok2 {
							return "", d.syntax("invalid \\u escape")
						}
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							r, r2 = dec, -1
						} else {
							d.i = save
							r2 = -1
							r = utf8.RuneError
						}
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				d.i--
				return "", d.syntax("invalid escape in a string")
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			d.i++
		default:
			r, size := utf8.DecodeRuneInString(d.s[d.i:])
			b = utf8.AppendRune(b, r)
			d.i += size
		}
	}
	return "", d.syntax("unterminated string")
}

func (d *jsonReader) hex4() (rune, bool) {
	if d.i+4 > len(d.s) {
		return 0, false
	}
	v, err := strconv.ParseUint(d.s[d.i:d.i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	d.i += 4
	return rune(v), true
}

// intField reads an integer into *dst; null leaves it unchanged.
func (d *jsonReader) intField(dst *int64) *apiError {
	d.ws()
	if d.null() {
		return nil
	}
	if err := d.skipValue(); err != nil {
		return err
	}
	lit := d.s[d.valueStart:d.i]
	if c := lit[0]; c != '-' && (c < '0' || c > '9') {
		d.i = d.valueStart
		return d.typeError("int64")
	}
	v, err := strconv.ParseInt(lit, 10, 64)
	if err != nil {
		d.i = d.valueStart
		return badRequest("invalid_field", "field %q must be int64, not JSON number %s", d.fieldPath(), lit)
	}
	*dst = v
	return nil
}

// boolField reads a bool into *dst; null leaves it unchanged.
func (d *jsonReader) boolField(dst *bool) *apiError {
	d.ws()
	switch {
	case d.null():
	case strings.HasPrefix(d.s[d.i:], "true"):
		d.i += 4
		*dst = true
	case strings.HasPrefix(d.s[d.i:], "false"):
		d.i += 5
		*dst = false
	default:
		if err := d.skipValue(); err != nil {
			return err
		}
		d.i = d.valueStart
		return d.typeError("bool")
	}
	return nil
}

// stringsField reads an array of strings into *dst, a slice of the
// request's strs.
func (d *jsonReader) stringsField(dst *[]string) *apiError {
	start := len(*d.strs)
	null, err := d.array("[]string", func() *apiError {
		var s string
		if err := d.stringField(&s); err != nil {
			return err
		}
		*d.strs = append(*d.strs, s)
		return nil
	})
	switch {
	case err != nil:
		return err
	case null:
		*dst = nil
	case len(*d.strs) == start:
		*dst = []string{} // as encoding/json decodes []
	default:
		*dst = (*d.strs)[start:len(*d.strs):len(*d.strs)]
	}
	return nil
}

// skipValue reads over one value of any type, checking its syntax, and
// leaves its start in valueStart.
func (d *jsonReader) skipValue() *apiError {
	d.ws()
	d.valueStart = d.i
	if d.i >= len(d.s) {
		return d.syntax("expected a value")
	}
	switch c := d.s[d.i]; {
	case c == '"':
		_, err := d.str()
		return err
	case c == '{':
		start := d.i
		err := d.object("object", func(string) *apiError { return d.skipValue() })
		d.valueStart = start
		return err
	case c == '[':
		start := d.i
		_, err := d.array("array", d.skipValue)
		d.valueStart = start
		return err
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	return d.syntax("expected a value")
}

func (d *jsonReader) literal(lit string) *apiError {
	if !strings.HasPrefix(d.s[d.i:], lit) {
		return d.syntax("invalid literal")
	}
	d.i += len(lit)
	return nil
}

// number reads over a number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *jsonReader) number() *apiError {
	digits := func() bool {
		start := d.i
		for d.i < len(d.s) && d.s[d.i] >= '0' && d.s[d.i] <= '9' {
			d.i++
		}
		return d.i > start
	}
	if d.s[d.i] == '-' {
		d.i++
	}
	if d.i < len(d.s) && d.s[d.i] == '0' {
		d.i++
	} else if !digits() {
		return d.syntax("invalid number")
	}
	if d.i < len(d.s) && d.s[d.i] == '.' {
		d.i++
		if !digits() {
			return d.syntax("invalid number")
		}
	}
	if d.i < len(d.s) && (d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		d.i++
		if d.i < len(d.s) && (d.s[d.i] == '+' || d.s[d.i] == '-') {
			d.i++
		}
		if !digits() {
			return d.syntax("invalid number")
		}
	}
	return nil
}

// unknown reports a field that the schema does not have.
func (d *jsonReader) unknown(name string) *apiError {
	return badRequest("unknown_field", "unknown field %s", strconv.Quote(name))
}

// field returns whether the JSON name matches the schema's key, as
// encoding/json matches them: exactly, or ignoring ASCII case.
func field(name, key string) bool {
	return name == key || strings.EqualFold(name, key)
}

func (d *jsonReader) priceRequest(r *PriceRequest) *apiError {
	return d.object("main.PriceRequest", func(name string) *apiError {
		switch {
		case field(name, "order_id"):
			return d.stringField(&r.OrderID)
		case field(name, "currency"):
			return d.stringField(&r.Currency)
		case field(name, "customer"):
			return d.customer(&r.Customer)
		case field(name, "shipping_address"):
			return d.address(&r.ShipTo)
		case field(name, "billing_address"):
			return d.address(&r.BillTo)
		case field(name, "items"):
			return d.items(&r.Items)
		case field(name, "coupons"):
			return d.stringsField(&r.Coupons)
		case field(name, "shipping_method"):
			return d.stringField(&r.ShippingMethod)
		case field(name, "payment"):
			return d.object("main.PaymentInput", func(name string) *apiError {
				switch {
				case field(name, "method"):
					return d.stringField(&r.Payment.Method)
				case field(name, "installments"):
					return d.intField(&r.Payment.Installments)
				}
				return d.unknown(name)
			})
		}
		return d.unknown(name)
	})
}

func (d *jsonReader) customer(c *CustomerInput) *apiError {
	return d.object("main.CustomerInput", func(name string) *apiError {
		switch {
		case field(name, "id"):
			return d.stringField(&c.ID)
		case field(name, "name"):
			return d.stringField(&c.Name)
		case field(name, "email"):
			return d.stringField(&c.Email)
		case field(name, "tier"):
			return d.stringField(&c.Tier)
		case field(name, "tax_exempt"):
			return d.boolField(&c.TaxExempt)
		}
		return d.unknown(name)
	})
}

func (d *jsonReader) address(a *AddressInput) *apiError {
	return d.object("main.AddressInput", func(name string) *apiError {
		switch {
		case field(name, "name"):
			return d.stringField(&a.Name)
		case field(name, "line1"):
			return d.stringField(&a.Line1)
		case field(name, "city"):
			return d.stringField(&a.City)
		case field(name, "region"):
			return d.stringField(&a.Region)
		case field(name, "postal_code"):
			return d.stringField(&a.PostalCode)
		case field(name, "country"):
			return d.stringField(&a.Country)
		}
		return d.unknown(name)
	})
}

// items reads the lines, reusing the elements of *dst beyond its length
// (PriceRequest.reset cleared them).
func (d *jsonReader) items(dst *[]ItemInput) *apiError {
	out := (*dst)[:0]
	null, err := d.array("[]main.ItemInput", func() *apiError {
		out = append(out, ItemInput{})
		it := &out[len(out)-1]
		return d.object("main.ItemInput", func(name string) *apiError {
			switch {
			case field(name, "sku"):
				return d.stringField(&it.SKU)
			case field(name, "name"):
				return d.stringField(&it.Name)
			case field(name, "category"):
				return d.stringField(&it.Category)
			case field(name, "tags"):
				return d.stringsField(&it.Tags)
			case field(name, "unit_price_cents"):
				return d.intField(&it.UnitPriceCents)
			case field(name, "quantity"):
				return d.intField(&it.Quantity)
			case field(name, "weight_grams"):
				return d.intField(&it.WeightGrams)
			}
			return d.unknown(name)
		})
	})
	switch {
	case err != nil:
		return err
	case null:
		*dst = nil
	case out == nil:
		*dst = []ItemInput{} // as encoding/json decodes []
	default:
		*dst = out
	}
	return nil
}

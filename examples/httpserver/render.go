package main

import (
	"strconv"
	"unicode/utf8"
)

// Rendering: the response JSON is appended to the request's reusable buffer
// by hand, so that writing it allocates nothing and costs the same for every
// strategy. The output is what encoding/json would produce for the same
// values (render_test.go checks it against json.Marshal).

// appendOrder appends the priced order as JSON.
func appendOrder(b []byte, o *Order) []byte {
	b = append(b, `{"order_id":`...)
	b = appendString(b, o.ID)
	b = append(b, `,"currency":`...)
	b = appendString(b, o.Currency)
	b = append(b, `,"customer":{"id":`...)
	b = appendString(b, o.Customer.ID)
	b = append(b, `,"tier":`...)
	b = appendString(b, o.Customer.Tier)
	b = append(b, `,"tax_exempt":`...)
	b = strconv.AppendBool(b, o.Customer.TaxExempt)
	b = append(b, `},"lines":[`...)
	for l := o.Lines; l != nil; l = l.Next {
		if l != o.Lines {
			b = append(b, ',')
		}
		b = appendLine(b, l)
	}
	b = append(b, `],"shipments":[`...)
	for s := o.Shipments; s != nil; s = s.Next {
		if s != o.Shipments {
			b = append(b, ',')
		}
		b = appendInt(b, `{"seq":`, int64(s.Seq))
		b = append(b, `,"carrier":`...)
		b = appendString(b, s.Carrier)
		b = append(b, `,"method":`...)
		b = appendString(b, s.Method)
		b = appendInt(b, `,"items":`, int64(s.Items))
		b = appendInt(b, `,"weight_grams":`, s.WeightGrams)
		b = appendInt(b, `,"cost":`, s.Cost)
		b = append(b, '}')
	}
	b = append(b, `],"payments":[`...)
	for p := o.Payments; p != nil; p = p.Next {
		if p != o.Payments {
			b = append(b, ',')
		}
		b = appendInt(b, `{"seq":`, int64(p.Seq))
		b = append(b, `,"method":`...)
		b = appendString(b, p.Method)
		b = appendInt(b, `,"due_days":`, int64(p.DueDays))
		b = appendInt(b, `,"amount":`, p.Amount)
		b = append(b, '}')
	}
	b = appendInt(b, `],"totals":{"subtotal":`, o.Subtotal)
	b = appendInt(b, `,"discount":`, o.DiscountTotal)
	b = appendInt(b, `,"tax":`, o.TaxTotal)
	b = appendInt(b, `,"shipping":`, o.ShippingTotal)
	b = appendInt(b, `,"total":`, o.Total)
	b = appendInt(b, `},"weight_grams":`, o.WeightGrams)
	b = appendInt(b, `,"audit":{"events":`, int64(o.NumEvents))
	b = append(b, `,"digest":"`...)
	b = appendHex64(b, auditDigest(o))
	b = append(b, `"}}`...)
	return b
}

func appendLine(b []byte, l *LineItem) []byte {
	b = appendInt(b, `{"seq":`, int64(l.Seq))
	b = append(b, `,"sku":`...)
	b = appendString(b, l.Product.SKU)
	b = append(b, `,"name":`...)
	b = appendString(b, l.Product.Name)
	b = appendInt(b, `,"quantity":`, int64(l.Quantity))
	b = appendInt(b, `,"unit_price":`, l.Product.UnitPrice)
	b = appendInt(b, `,"gross":`, l.Gross)
	b = appendInt(b, `,"discount":`, l.Discount)
	b = appendInt(b, `,"tax":`, l.Tax)
	b = appendInt(b, `,"net":`, l.Net)
	b = append(b, `,"discounts":[`...)
	for d := l.Discounts; d != nil; d = d.Next {
		if d != l.Discounts {
			b = append(b, ',')
		}
		b = append(b, `{"code":`...)
		b = appendString(b, d.Code)
		b = appendInt(b, `,"rate_bp":`, d.RateBP)
		b = appendInt(b, `,"amount":`, d.Amount)
		b = append(b, '}')
	}
	b = append(b, `],"taxes":[`...)
	for t := l.Taxes; t != nil; t = t.Next {
		if t != l.Taxes {
			b = append(b, ',')
		}
		b = append(b, `{"jurisdiction":`...)
		b = appendString(b, t.Jurisdiction)
		b = appendInt(b, `,"rate_bp":`, t.RateBP)
		b = appendInt(b, `,"amount":`, t.Amount)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// auditDigest hashes the audit trail (sequence, kind, line and amount of
// every event), FNV-1a style over whole words: the response proves the
// trail without listing it.
func auditDigest(o *Order) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for e := o.Events; e != nil; e = e.Next {
		h = (h ^ uint64(e.Seq)) * prime
		for k := e.Kind; len(k) > 0; {
			var w uint64
			n := min(len(k), 8)
			for i := range n {
				w |= uint64(k[i]) << (8 * i)
			}
			h = (h ^ w) * prime
			k = k[n:]
		}
		if e.Line != nil {
			h = (h ^ uint64(e.Line.Seq)) * prime
		}
		h = (h ^ uint64(e.Amount)) * prime
	}
	return h
}

// appendError appends the JSON body of a refused request.
func appendError(b []byte, e *apiError) []byte {
	b = appendInt(b, `{"error":{"status":`, int64(e.Status))
	b = append(b, `,"code":`...)
	b = appendString(b, e.Code)
	b = append(b, `,"message":`...)
	b = appendString(b, e.Message)
	return append(b, "}}"...)
}

func appendInt(b []byte, key string, v int64) []byte {
	return strconv.AppendInt(append(b, key...), v, 10)
}

func appendHex64(b []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, digits[(v>>uint(shift))&0xf])
	}
	return b
}

// appendString appends s as a JSON string, escaped as encoding/json escapes
// it: control characters, quote and backslash; <, > and & as \u00XX so the
// output is safe inside HTML; U+2028 and U+2029; invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

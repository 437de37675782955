package scopedec_test

import (
	"bytes"
	jsonv1 "encoding/json"
	"errors"
	"strconv"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/slabtrack/slabtrack/internal/rtbwork"
	"github.com/slabtrack/slabtrack/internal/rtbwork/scopedec"
)

// BenchmarkUnmarshal decodes the 9 KB bid request of seed 1 per op:
// encoding/json and json v2 on the heap, then the generic and the typed
// scopedec Decoder over a HeapAllocator reset after each op. objects/op,
// slices/op and string-bytes/op are what the allocator handed out: what a
// scope would hold. The allocations left with the typed decoder are those
// objects and backing arrays (reflect.New, reflect.Value.Grow on the heap)
// and the ext map and raw values, which stay on the heap by design.
func BenchmarkUnmarshal(b *testing.B) {
	body := rtbwork.Sample(1)
	b.Run("decoder=v1", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var req rtbwork.BidRequest
			if err := jsonv1.Unmarshal(body, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decoder=v2", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var req rtbwork.BidRequest
			if err := json.Unmarshal(body, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, dc := range decoders {
		b.Run("decoder="+dc.name, func(b *testing.B) {
			a := new(scopedec.HeapAllocator)
			d := dc.make(a, shapes[0])
			var objects, slices, bytes int
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				var req rtbwork.BidRequest
				if err := d.Unmarshal(body, &req); err != nil {
					b.Fatal(err)
				}
				objects, slices, bytes = a.Objects, a.Slices, a.StringBytes
				a.Reset()
			}
			b.ReportMetric(float64(objects), "objects/op")
			b.ReportMetric(float64(slices), "slices/op")
			b.ReportMetric(float64(bytes), "string-bytes/op")
		})
	}
}

// BenchmarkOptions builds the options of a Decoder: json v2 options are
// values on the heap, which is why a Decoder builds them once and reuses
// them for every request.
func BenchmarkOptions(b *testing.B) {
	a := new(scopedec.HeapAllocator)
	b.Run("options=one-hook", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = json.WithUnmarshalers(json.UnmarshalFromFunc(func(*jsontext.Decoder, *string) error { return errors.ErrUnsupported }))
		}
	})
	b.Run("options=generic", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = scopedec.NewDecoder(a)
		}
	})
	b.Run("options=typed-request", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = scopedec.NewTypedDecoder(a, requestHooks)
		}
	})
}

// BenchmarkStrings decodes an array of 64 distinct 24-byte strings per op
// into a []string that keeps its capacity: json v2's default (string(b), or
// its per-decoder cache of short strings), then the typed Decoder's string
// hook, which unquotes into the allocator. ns/string is the cost of one.
func BenchmarkStrings(b *testing.B) {
	const n = 64
	docs := make([][]byte, 16) // more distinct strings than json v2 caches
	for d := range docs {
		var buf bytes.Buffer
		buf.WriteByte('[')
		for i := range n {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(strconv.Quote("segment-" + strconv.Itoa(d*1000+i) + "-abcdefghij"))
		}
		buf.WriteByte(']')
		docs[d] = buf.Bytes()
	}
	perString := func(b *testing.B, ops int) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(ops*n), "ns/string")
	}
	b.Run("decoder=v2", func(b *testing.B) {
		s := make([]string, 0, n)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			s = s[:0]
			if err := json.Unmarshal(docs[i%len(docs)], &s); err != nil {
				b.Fatal(err)
			}
			i++
		}
		perString(b, i)
	})
	b.Run("decoder=typed", func(b *testing.B) {
		a := new(scopedec.HeapAllocator)
		d := scopedec.NewTypedDecoder(a, nil)
		s := make([]string, 0, n)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			s = s[:0]
			if err := d.Unmarshal(docs[i%len(docs)], &s); err != nil {
				b.Fatal(err)
			}
			a.Reset()
			i++
		}
		perString(b, i)
	})
}

// BenchmarkEncode writes the committed response of seed 1 per op: with
// json.MarshalWrite (a pooled encoder, options joined per call) and with a
// scopedec.Encoder (one encoder and buffer kept, options joined once).
func BenchmarkEncode(b *testing.B) {
	body := rtbwork.Sample(1)
	var out bytes.Buffer
	if err := rtbwork.Handle(rtbwork.HeapV2(), body, &out); err != nil {
		b.Fatal(err)
	}
	var resp rtbwork.BidResponse
	if err := json.Unmarshal(out.Bytes(), &resp); err != nil {
		b.Fatal(err)
	}
	html := jsontext.EscapeForHTML(true)
	b.Run("encoder=marshalwrite", func(b *testing.B) {
		var w bytes.Buffer
		b.ReportAllocs()
		for b.Loop() {
			w.Reset()
			if err := json.MarshalWrite(&w, &resp, html); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoder=reused", func(b *testing.B) {
		e := scopedec.NewEncoder(html)
		var w bytes.Buffer
		b.ReportAllocs()
		for b.Loop() {
			w.Reset()
			if err := e.Encode(&w, &resp); err != nil {
				b.Fatal(err)
			}
		}
	})
}

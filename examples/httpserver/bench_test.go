package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/slabtrack/slabtrack/slab"
)

// discardWriter is a ResponseWriter that keeps nothing, so that the
// benchmarks measure the handler and not a recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkStages splits a request into its stages: decoding the body
// (encoding/json into a recycled request, json v2 into a scope), pricing
// (heap strategy), encoding the response (encoding/json, and json v2 for
// reference).
func BenchmarkStages(b *testing.B) {
	body := compactSample(b)
	w := &discardWriter{h: http.Header{}}
	b.Run("decode=std", func(b *testing.B) {
		b.ReportAllocs()
		var req PriceRequest
		for b.Loop() {
			req.Reset()
			if err := decodeStd(w, io.NopCloser(bytes.NewReader(body)), &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode=scoped", func(b *testing.B) {
		b.ReportAllocs()
		s := slab.NewScope()
		for b.Loop() {
			r := httptest.NewRequest(http.MethodPost, "/v1/orders/price", bytes.NewReader(body))
			data, err := readBodyIn(s, w, r)
			if err != nil {
				b.Fatal(err)
			}
			if err := decodeScoped(s, data, slab.NewIn[PriceRequest](s)); err != nil {
				b.Fatal(err)
			}
			s.Release()
		}
	})
	st, err := newStrategy("heap", jsonStd)
	if err != nil {
		b.Fatal(err)
	}
	o := st.recycled.Get().(*Objects)
	req := new(PriceRequest)
	if err := decodeStd(w, io.NopCloser(bytes.NewReader(body)), req); err != nil {
		b.Fatal(err)
	}
	b.Run("price", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := priceOrder(o, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	ord, _ := priceOrder(o, req)
	b.Run("encode=std", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			o.out.Reset()
			if err := encodeStd(&o.out, ord); err != nil {
				b.Fatal(err)
			}
		}
	})
	// json v2, for reference: the encoder and its options kept across
	// calls, as an allocation-free encoder must.
	b.Run("encode=jsonv2", func(b *testing.B) {
		b.ReportAllocs()
		opts := jsonv2.JoinOptions(jsontext.EscapeForHTML(true), jsontext.EscapeForJS(true))
		enc := jsontext.NewEncoder(&o.out, opts)
		for b.Loop() {
			o.out.Reset()
			enc.Reset(&o.out, opts)
			if err := jsonv2.MarshalEncode(enc, ord); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkHandler runs the whole price handler on the sample body, with
// each strategy and its middleware, without a network: decoding, pricing,
// encoding and giving every object back.
func BenchmarkHandler(b *testing.B) {
	body := compactSample(b)
	for _, codec := range codecs {
		for _, name := range strategyNames {
			b.Run("json="+codec+"/alloc="+name, func(b *testing.B) {
				st, err := newStrategy(name, codec)
				if err != nil {
					b.Fatal(err)
				}
				h := newServer(st, nil).routes()
				w := &discardWriter{h: http.Header{}}
				rd := bytes.NewReader(body)
				req := httptest.NewRequest(http.MethodPost, "/v1/orders/price", rd)
				b.ReportAllocs()
				for b.Loop() {
					rd.Reset(body)
					clear(w.h)
					h.ServeHTTP(w, req)
				}
			})
		}
	}
}

func compactSample(tb testing.TB) []byte {
	var buf bytes.Buffer
	if err := compactJSON(&buf, sampleBody()); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

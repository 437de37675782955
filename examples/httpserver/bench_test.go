package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
)

// discardWriter is a ResponseWriter that keeps nothing, so that the
// benchmarks measure the handler and not a recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkStages splits a request into its stages: decoding the body
// (encoding/json into a recycled request, json v2 into a scope), pricing
// (heap strategy), encoding the response (encoding/json, and slab/slabjson's
// Encoder for reference).
func BenchmarkStages(b *testing.B) {
	body := compactSample(b)
	w := &discardWriter{h: http.Header{}}
	b.Run("decode=std", func(b *testing.B) {
		b.ReportAllocs()
		var req PriceRequest
		rd := bytes.NewReader(body)
		rc := io.NopCloser(rd)
		for b.Loop() {
			rd.Reset(body)
			req.Reset()
			if err := decodeStd(w, rc, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode=scoped", func(b *testing.B) {
		b.ReportAllocs()
		s := slab.NewScope()
		rd := bytes.NewReader(body)
		r := httptest.NewRequest(http.MethodPost, "/v1/orders/price", rd)
		for b.Loop() {
			rd.Reset(body)
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
	// slab/slabjson's Encoder (json v2), for reference.
	b.Run("encode=slabjson", func(b *testing.B) {
		b.ReportAllocs()
		enc := slabjson.NewEncoder(slabjson.EscapeHTML())
		for b.Loop() {
			o.out.Reset()
			if err := enc.Encode(&o.out, ord); err != nil {
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

package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/slabtrack/slabtrack/slab"
)

// discardWriter is a ResponseWriter that keeps nothing, so that the
// benchmarks measure the handler and not a recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkStages splits a request into its stages, on the heap strategy:
// decoding the JSON body, building and pricing the order, rendering it.
func BenchmarkStages(b *testing.B) {
	body := compactSample(b)
	st, err := newStrategy("heap")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode-std", func(b *testing.B) {
		b.ReportAllocs()
		o := st.recycled.Get().(*Objects)
		for b.Loop() {
			o.req.reset()
			if err := decodeRequest(&discardWriter{h: http.Header{}}, io.NopCloser(bytes.NewReader(body)), &o.req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode-fast", func(b *testing.B) {
		b.ReportAllocs()
		o := st.recycled.Get().(*Objects)
		for b.Loop() {
			o.req.reset()
			if err := decodeFast(&discardWriter{h: http.Header{}}, io.NopCloser(bytes.NewReader(body)), &o.req, &o.body, &o.strs); err != nil {
				b.Fatal(err)
			}
		}
	})
	o := st.recycled.Get().(*Objects)
	if err := decodeRequest(&discardWriter{h: http.Header{}}, io.NopCloser(bytes.NewReader(body)), &o.req); err != nil {
		b.Fatal(err)
	}
	b.Run("price", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := priceOrder(o, &o.req); err != nil {
				b.Fatal(err)
			}
		}
	})
	ord, _ := priceOrder(o, &o.req)
	b.Run("render", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			o.out = appendOrder(o.out[:0], ord)
		}
	})
}

// BenchmarkPrice builds and prices the sample order and gives its objects
// back, with each strategy.
func BenchmarkPrice(b *testing.B) {
	body := compactSample(b)
	for _, name := range strategyNames {
		b.Run(name, func(b *testing.B) {
			st, err := newStrategy(name)
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodPost, "/v1/orders/price", nil)
			s := slab.NewScope()
			req = req.WithContext(slab.WithScope(req.Context(), s))
			o := st.begin(req)
			if err := decodeRequest(&discardWriter{h: http.Header{}}, io.NopCloser(bytes.NewReader(body)), &o.req); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := priceOrder(o, &o.req); err != nil {
					b.Fatal(err)
				}
				o.release()
				s.Release()
			}
		})
	}
}

// BenchmarkHandler runs the whole price handler on the sample body, with
// each strategy and its middleware, without a network.
func BenchmarkHandler(b *testing.B) {
	body := compactSample(b)
	for _, name := range strategyNames {
		b.Run(name, func(b *testing.B) {
			st, err := newStrategy(name)
			if err != nil {
				b.Fatal(err)
			}
			h := newServer(st, nil).routes()
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/v1/orders/price", bytes.NewReader(body))
				clear(w.h)
				h.ServeHTTP(w, req)
			}
		})
	}
}

func compactSample(tb testing.TB) []byte {
	var buf bytes.Buffer
	if err := compactJSON(&buf, sampleBody()); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

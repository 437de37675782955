package slabjson_test

import (
	"bytes"
	jsonv1 "encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/slabtrack/slabtrack/internal/workload"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
	"github.com/slabtrack/slabtrack/slab/slabjson/internal/shapes"
)

// BenchmarkUnmarshal decodes the 9 KB bid request of testdata's sample 1
// per op into a shapes.Request: encoding/json and json v2 into a new value
// on the heap; json v2 into one reused value, as a sync.Pool of requests
// would give it (its slices' room kept: the fair baseline for a decoder
// into recycled memory); and slabjson into a scope released after each
// op.
func BenchmarkUnmarshal(b *testing.B) {
	body := sample(b, 1)
	b.Run("decoder=v1", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var req shapes.Request
			if err := jsonv1.Unmarshal(body, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decoder=v2", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var req shapes.Request
			if err := json.Unmarshal(body, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decoder=v2-reused", func(b *testing.B) {
		var req shapes.Request
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			req.Imp = req.Imp[:0]
			req.Cur, req.BCat = req.Cur[:0], req.BCat[:0]
			if err := json.Unmarshal(body, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decoder=slabjson", func(b *testing.B) {
		s := slab.NewScope()
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if err := slabjson.Unmarshal(s, body, slab.NewIn[shapes.Request](s)); err != nil {
				b.Fatal(err)
			}
			s.Release()
		}
	})
}

// BenchmarkEncode writes the committed response of seed 1 per op, with
// HTML escaped: encoding/json's Encoder, json v2's MarshalWrite (a pooled
// encoder, options joined per call), and a slabjson Encoder.
func BenchmarkEncode(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "bidder", "testdata", "response-1.json"))
	if err != nil {
		b.Fatal(err)
	}
	var resp workload.BidResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		b.Fatal(err)
	}
	var w bytes.Buffer
	run := func(b *testing.B, encode func() error) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			w.Reset()
			if err := encode(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("encoder=v1", func(b *testing.B) {
		run(b, func() error { return jsonv1.NewEncoder(&w).Encode(&resp) })
	})
	html := jsontext.EscapeForHTML(true)
	b.Run("encoder=v2-marshalwrite", func(b *testing.B) {
		run(b, func() error { return json.MarshalWrite(&w, &resp, html) })
	})
	e := slabjson.NewEncoder(slabjson.EscapeHTML())
	b.Run("encoder=slabjson", func(b *testing.B) {
		run(b, func() error { return e.Encode(&w, &resp) })
	})
}

// BenchmarkStrings decodes an object of 64 distinct 24-byte strings per op
// into a struct of string fields: json v2 on the heap (string(b), or its
// cache of short strings), and a Decoder, whose hook of strings copies
// them into the scope. ns/string is the cost of one.
func BenchmarkStrings(b *testing.B) {
	const n = 64
	docs := make([][]byte, 16) // more distinct strings than json v2 caches
	for d := range docs {
		var buf bytes.Buffer
		buf.WriteByte('{')
		for i := range n {
			if i > 0 {
				buf.WriteByte(',')
			}
			fmt.Fprintf(&buf, `"F%d":%q`, i, fmt.Sprintf("segment-%06d-abcdefghij", d*1000+i))
		}
		buf.WriteByte('}')
		docs[d] = buf.Bytes()
	}
	perString := func(b *testing.B, ops int) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(ops*n), "ns/string")
	}
	var v fields64
	b.Run("decoder=v2", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := json.Unmarshal(docs[i%len(docs)], &v); err != nil {
				b.Fatal(err)
			}
			i++
		}
		perString(b, i)
	})
	b.Run("decoder=slabjson", func(b *testing.B) {
		s := slab.NewScope()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := slabjson.Unmarshal(s, docs[i%len(docs)], &v); err != nil {
				b.Fatal(err)
			}
			s.Release()
			i++
		}
		perString(b, i)
	})
}

// fields64 is a struct of 64 string fields, F0 to F63.
type fields64 struct {
	F0  string
	F1  string
	F2  string
	F3  string
	F4  string
	F5  string
	F6  string
	F7  string
	F8  string
	F9  string
	F10 string
	F11 string
	F12 string
	F13 string
	F14 string
	F15 string
	F16 string
	F17 string
	F18 string
	F19 string
	F20 string
	F21 string
	F22 string
	F23 string
	F24 string
	F25 string
	F26 string
	F27 string
	F28 string
	F29 string
	F30 string
	F31 string
	F32 string
	F33 string
	F34 string
	F35 string
	F36 string
	F37 string
	F38 string
	F39 string
	F40 string
	F41 string
	F42 string
	F43 string
	F44 string
	F45 string
	F46 string
	F47 string
	F48 string
	F49 string
	F50 string
	F51 string
	F52 string
	F53 string
	F54 string
	F55 string
	F56 string
	F57 string
	F58 string
	F59 string
	F60 string
	F61 string
	F62 string
	F63 string
}

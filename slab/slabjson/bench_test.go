package slabjson_test

import (
	"bytes"
	jsonv1 "encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/slabtrack/slabtrack/internal/rtbwork"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
)

// BenchmarkUnmarshal decodes the 9 KB bid request of seed 1 per op:
// encoding/json and json v2 on the heap, then slabjson's generic Unmarshal
// and a Decoder with the request's hooks, into a scope released after each
// op.
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
	scoped := func(b *testing.B, unmarshal func(s *slab.Scope, data []byte, v any) error) {
		s := slab.NewScope()
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var req rtbwork.BidRequest
			if err := unmarshal(s, body, &req); err != nil {
				b.Fatal(err)
			}
			s.Release()
		}
	}
	b.Run("decoder=slabjson-generic", func(b *testing.B) { scoped(b, slabjson.Unmarshal) })
	b.Run("decoder=slabjson-typed", func(b *testing.B) {
		scoped(b, slabjson.NewDecoder(rtbwork.RequestHooks()...).Unmarshal)
	})
}

// BenchmarkEncode writes the committed response of seed 1 per op, with
// HTML escaped: encoding/json's Encoder, json v2's MarshalWrite (a pooled
// encoder, options joined per call), and a slabjson Encoder.
func BenchmarkEncode(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "..", "internal", "rtbwork", "testdata", "response-1.json"))
	if err != nil {
		b.Fatal(err)
	}
	var resp rtbwork.BidResponse
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

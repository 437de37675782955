package main

import (
	jsonv1 "encoding/json"
	"io"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/slabtrack/slabtrack/internal/workload"
)

// CodecV1 decodes and encodes with encoding/json, as most services do.
type CodecV1 struct{}

// Decode calls json.Unmarshal.
func (CodecV1) Decode(data []byte, req *workload.BidRequest) error {
	return jsonv1.Unmarshal(data, req)
}

// Encode writes resp with a json.Encoder, which escapes HTML and ends the
// value with a newline.
func (CodecV1) Encode(w io.Writer, resp *workload.BidResponse) error {
	return jsonv1.NewEncoder(w).Encode(resp)
}

// v2Options are the json v2 options that make its output identical to
// encoding/json's for the response, built once: building options allocates.
var v2Options = jsontext.EscapeForHTML(true)

// CodecV2 decodes and encodes with json v2 (github.com/go-json-experiment/json,
// the code of encoding/json/v2) and its default semantics.
type CodecV2 struct{}

// Decode calls json.Unmarshal of json v2.
func (CodecV2) Decode(data []byte, req *workload.BidRequest) error { return json.Unmarshal(data, req) }

// Encode calls json.MarshalWrite with HTML escaping, then writes the newline
// that encoding/json's Encoder writes.
func (CodecV2) Encode(w io.Writer, resp *workload.BidResponse) error {
	if err := json.MarshalWrite(w, resp, v2Options); err != nil {
		return err
	}
	_, err := w.Write(newline)
	return err
}

var newline = []byte{'\n'}

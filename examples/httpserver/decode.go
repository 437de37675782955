package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
)

// Request decoding. The strategies decode as their users do:
//
//   - heap, syncpool, chan and pool with encoding/json, streaming from the
//     body, unknown fields refused (decodeStd);
//   - syncpool-v2 with json v2 into its pooled objects, the body read
//     whole into a recycled buffer (decodeV2);
//   - scope with slab/slabjson (json v2) into the request's scope
//     (decodeScoped): the body is read into the scope, and the decoded
//     request's nested objects, slice backing arrays and strings are placed
//     in it too.
//
// Both refuse malformed JSON, unknown fields, wrong types and trailing data
// with 400, and bodies over maxBodyBytes with 413. json v2 is the stricter
// of the two: it also refuses duplicate member names, invalid UTF-8 and
// member names that match a field only when case is ignored, which
// encoding/json accepts (decode_test.go lists them). Whatever both accept
// they decode alike, so every strategy answers it byte for byte the same.

// decodeStd reads one PriceRequest from body into r with encoding/json.
func decodeStd(w http.ResponseWriter, body io.ReadCloser, r *PriceRequest) *apiError {
	dec := json.NewDecoder(http.MaxBytesReader(w, body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(r); err != nil {
		return decodeStdError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return decodeStdError(err)
		}
		return badRequest("malformed_json", "unexpected data after the JSON object")
	}
	return unknownMembers(r)
}

// decodeStdError turns an error of encoding/json or of the body reader into
// the response a client can act on.
func decodeStdError(err error) *apiError {
	var (
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	if e := bodyError(err); e != nil {
		return e
	}
	switch {
	case errors.Is(err, io.EOF):
		return emptyBody()
	case errors.As(err, &syntax):
		return badRequest("malformed_json", "malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typeErr):
		return badRequest("invalid_field", "field %q must be %s, not JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("unknown_field", "%s", strings.TrimPrefix(err.Error(), "json: "))
	default:
		return badRequest("malformed_json", "%s", err.Error())
	}
}

// bodyError returns the response to an error of reading the body that is
// not about its JSON, or nil.
func bodyError(err error) *apiError {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &apiError{http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("the request body exceeds %d bytes", tooBig.Limit)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed_json", "the JSON body ends too early")
	}
	return nil
}

// tooLarge is the error of a request whose memory would pass the
// middleware's MaxBytes: the body is too large for this server, whatever
// its length.
func tooLarge() *apiError {
	return &apiError{http.StatusRequestEntityTooLarge, "body_too_large", "the request needs more memory than a request may take"}
}

func emptyBody() *apiError {
	return badRequest("empty_body", "the request body is empty; send a JSON order (GET /v1/orders/sample shows one)")
}

// readBodyIn reads the request body into memory that s owns, up to
// maxBodyBytes: a buffer of the announced length (one more byte to see the
// end), grown in s if the body is longer. A body that would take the scope
// past its middleware's MaxBytes is too large, as one past maxBodyBytes is.
func readBodyIn(s *slab.Scope, w http.ResponseWriter, r *http.Request) (_ []byte, apiErr *apiError) {
	defer func() {
		if r := recover(); r != nil {
			if err, ok := r.(error); ok && errors.Is(err, slab.ErrScopeLimit) {
				apiErr = tooLarge()
				return
			}
			panic(r)
		}
	}()
	body := http.MaxBytesReader(w, r.Body, maxBodyBytes)
	n := 4 << 10
	if r.ContentLength >= 0 && r.ContentLength < maxBodyBytes {
		n = int(r.ContentLength) + 1
	}
	buf := slab.MakeSliceIn[byte](s, 0, n)
	for {
		if len(buf) == cap(buf) {
			buf = slab.AppendIn(s, buf, 0)[:len(buf)]
		}
		m, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			if e := bodyError(err); e != nil {
				return nil, e
			}
			return nil, badRequest("unreadable_body", "cannot read the request body: %s", err.Error())
		}
	}
}

// readBody reads the request body into buf, grown with append, up to
// maxBodyBytes.
func readBody(buf []byte, w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	body := http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if r.ContentLength >= 0 && r.ContentLength < maxBodyBytes {
		buf = slices.Grow(buf, int(r.ContentLength)+1)
	}
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, 4<<10)
		}
		m, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			if e := bodyError(err); e != nil {
				return buf, e
			}
			return buf, badRequest("unreadable_body", "cannot read the request body: %s", err.Error())
		}
	}
}

// decodeV2 decodes data into r with json v2 and its default options, on
// the heap (or into what r's pooled slices kept), as decodeScoped decodes
// into a scope: the same results and the same errors.
func decodeV2(data []byte, r *PriceRequest) *apiError {
	if len(bytes.TrimLeft(data, " \t\r\n")) == 0 {
		return emptyBody()
	}
	if err := jsonv2.Unmarshal(data, r); err != nil {
		return decodeV2Error(err)
	}
	return unknownMembers(r)
}

// decodeScoped decodes data into r, in s, with slab/slabjson (json v2's
// results and errors with its default options): r's strings, slices and
// billing address are placed in s (decode_test.go checks with
// slabjson.Check that all of r is).
func decodeScoped(s *slab.Scope, data []byte, r *PriceRequest) *apiError {
	if len(bytes.TrimLeft(data, " \t\r\n")) == 0 {
		return emptyBody()
	}
	if err := slabjson.Unmarshal(s, data, r); err != nil {
		if errors.Is(err, slab.ErrScopeLimit) {
			return tooLarge()
		}
		return decodeV2Error(err)
	}
	return unknownMembers(r)
}

// decodeV2Error turns an error of json v2 into the response a client can act
// on, with the codes decodeStdError gives encoding/json's errors. slab/slabjson
// returns json v2's own errors, so telling a syntax error from a wrong type
// takes json v2's error types: the one place this program names json v2.
func decodeV2Error(err error) *apiError {
	var (
		syntax   *jsontext.SyntacticError
		semantic *jsonv2.SemanticError
	)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed_json", "the JSON body ends too early")
	case errors.As(err, &syntax):
		return badRequest("malformed_json", "malformed JSON at byte %d: %s", syntax.ByteOffset, syntax.Error())
	case errors.As(err, &semantic) && semantic.GoType != nil && semantic.JSONKind != 0:
		return badRequest("invalid_field", "field %q must be %s, not JSON %s", fieldName(semantic.JSONPointer), semantic.GoType, semantic.JSONKind)
	default:
		return badRequest("malformed_json", "%s", err.Error())
	}
}

// fieldName turns a JSON pointer such as /items/3/quantity into the dotted
// path encoding/json reports (items.quantity): the array indexes dropped.
func fieldName(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if tok != "" && strings.Trim(tok, "0123456789") == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

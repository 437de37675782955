//go:build slabdebug

package slabjson_test

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/openrtb"
	"github.com/slabtrack/slabtrack/slab"
	"github.com/slabtrack/slabtrack/slab/slabjson"
	"github.com/slabtrack/slabtrack/tracker"
)

// pushOut releases enough scopes holding memory of T for the debug build's
// quarantine of T to check, and hand back, the memory released before.
func pushOut[T any]() {
	for range 20 {
		s := slab.NewScope()
		_ = slab.MakeSliceIn[T](s, 1, 1)
		s.Release()
	}
}

// TestDebugReportsWritesToReleasedValues writes to a decoded string and to
// an element of a decoded slice after their scope is released: debug
// builds find each write in the poison of the released memory when it
// leaves the quarantine.
//
//slabvet:ignore scopeescape the test writes to a released value for the debug build to report
func TestDebugReportsWritesToReleasedValues(t *testing.T) {
	dec := slabjson.NewDecoder(requestHooks()...)
	tests := []struct {
		name  string
		write func(req *openrtb.BidRequest)
		push  func()
		typ   string
		field string
	}{
		{"string", func(req *openrtb.BidRequest) {
			unsafe.Slice(unsafe.StringData(req.ID), len(req.ID))[3] = 'x'
		}, pushOut[byte], "[]uint8", ""},
		{"slice element", func(req *openrtb.BidRequest) {
			req.Imp[1].BidFloor = 9.5
		}, pushOut[openrtb.Imp], "[]openrtb.Imp", "BidFloor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []*tracker.Violation
			old := tracker.SetHandler(func(v *tracker.Violation) { got = append(got, v) })
			t.Cleanup(func() { tracker.SetHandler(old) })
			s := slab.NewScope()
			var req openrtb.BidRequest
			require.NoError(t, dec.Unmarshal(s, openrtb.Sample(1), &req), "the sample decodes")
			s.Release()
			tt.write(&req)
			tt.push()
			require.Len(t, got, 1, "the write after Release is reported once")
			v := got[0]
			assert.Equal(t, tracker.WriteAfterFree, v.Kind, "the kind")
			assert.ErrorIs(t, v, tracker.ErrWriteAfterFree, "the violation matches tracker.ErrWriteAfterFree")
			assert.Equal(t, tt.typ, v.Type, "the report names the memory's type")
			assert.Equal(t, tt.field, v.Field, "and the field written")
			assert.Contains(t, v.Detail, "released scope", "the report says the memory was a released scope's")
		})
	}
}

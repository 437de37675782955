package slabjson_test

import (
	"reflect"

	"github.com/slabtrack/slabtrack/internal/openrtb"
	"github.com/slabtrack/slabtrack/slab/slabjson"
)

// requestHooks are the hooks of every pointer and slice type of an
// openrtb.BidRequest, as Decoder.Check lists them: the bidder workload's
// requests, decoded by the tests with every hook they need.
func requestHooks() []slabjson.Hook {
	return []slabjson.Hook{
		slabjson.Slice[openrtb.Imp](), slabjson.Slice[openrtb.Metric](), slabjson.Pointer[openrtb.Banner](),
		slabjson.Slice[openrtb.Format](), slabjson.Pointer[int](), slabjson.Slice[int](),
		slabjson.Slice[string](), slabjson.Pointer[openrtb.Video](), slabjson.Pointer[int8](),
		slabjson.Pointer[openrtb.Native](), slabjson.Pointer[openrtb.PMP](), slabjson.Slice[openrtb.Deal](),
		slabjson.Pointer[openrtb.Site](), slabjson.Pointer[openrtb.Publisher](), slabjson.Pointer[openrtb.Content](),
		slabjson.Slice[openrtb.Data](), slabjson.Slice[openrtb.Segment](), slabjson.Pointer[openrtb.App](),
		slabjson.Pointer[openrtb.Device](), slabjson.Pointer[openrtb.Geo](), slabjson.Pointer[openrtb.User](),
		slabjson.Pointer[openrtb.Source](), slabjson.Pointer[openrtb.Regs](),
	}
}

// withoutExts removes the ext values of every object of r, which json v2
// decodes on the heap whatever the hooks (raw values and maps), but for
// r.Ext and the impressions' if keepTop is set.
func withoutExts(r *openrtb.BidRequest, keepTop bool) {
	var walk func(v reflect.Value, top bool)
	walk = func(v reflect.Value, top bool) {
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem(), false)
			}
		case reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i), top && v.Type().Elem() == reflect.TypeFor[openrtb.Imp]())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				f := v.Type().Field(i)
				if f.Name == "Ext" {
					if !(keepTop && top) {
						v.Field(i).SetZero()
					}
					continue
				}
				walk(v.Field(i), top && f.Name == "Imp")
			}
		}
	}
	walk(reflect.ValueOf(r).Elem(), true)
}

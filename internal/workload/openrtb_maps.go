package workload

import (
	"slices"

	"github.com/go-json-experiment/json/jsontext"
)

// The maps of a response. encoding/json writes a map's keys sorted; json v2
// writes them in the map's iteration order unless told to be deterministic,
// and slab/slabjson's Encoder has no such option. The MarshalJSONTo methods,
// which json v2 calls and encoding/json does not know, write the keys
// sorted, so that every codec writes the same bytes.

// Targets are the targeting key-values of a bid.
type Targets map[string]string

// Counts counts something per name.
type Counts map[string]int

// smallMap is the number of keys sortedKeys sorts without allocating.
const smallMap = 16

// sortedKeys returns the keys of m in order, in buf if they fit.
func sortedKeys[V any](m map[string]V, buf *[smallMap]string) []string {
	keys := buf[:0]
	if len(m) > smallMap {
		keys = make([]string, 0, len(m))
	}
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// MarshalJSONTo writes t as a JSON object with its keys sorted, or null for
// a nil map, as encoding/json writes it.
func (t Targets) MarshalJSONTo(enc *jsontext.Encoder) error {
	if t == nil {
		return enc.WriteToken(jsontext.Null)
	}
	var buf [smallMap]string
	if err := enc.WriteToken(jsontext.BeginObject); err != nil {
		return err
	}
	for _, k := range sortedKeys(t, &buf) {
		if err := enc.WriteToken(jsontext.String(k)); err != nil {
			return err
		}
		if err := enc.WriteToken(jsontext.String(t[k])); err != nil {
			return err
		}
	}
	return enc.WriteToken(jsontext.EndObject)
}

// MarshalJSONTo writes c as a JSON object with its keys sorted, or null for
// a nil map, as encoding/json writes it.
func (c Counts) MarshalJSONTo(enc *jsontext.Encoder) error {
	if c == nil {
		return enc.WriteToken(jsontext.Null)
	}
	var buf [smallMap]string
	if err := enc.WriteToken(jsontext.BeginObject); err != nil {
		return err
	}
	for _, k := range sortedKeys(c, &buf) {
		if err := enc.WriteToken(jsontext.String(k)); err != nil {
			return err
		}
		if err := enc.WriteToken(jsontext.Int(int64(c[k]))); err != nil {
			return err
		}
	}
	return enc.WriteToken(jsontext.EndObject)
}

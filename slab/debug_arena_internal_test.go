//go:build slabdebug

package slab

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The segments of a chunkDebug's records hold every record once, and are
// made only when a record in them is.
func TestArenaRecordSegments(t *testing.T) {
	var d chunkDebug
	seen := map[*arenaRec]bool{}
	for k := range uint32(arenaRecords) {
		r := d.record(k, true)
		require.NotNil(t, r, "record %d is made", k)
		require.False(t, seen[r], "record %d is not another's", k)
		seen[r] = true
		require.Same(t, r, d.record(k, false), "record %d is found again", k)
	}
	require.Len(t, seen, arenaRecords, "every record is distinct")
	var fresh chunkDebug
	fresh.record(3, true)
	require.Nil(t, fresh.record(arenaRecFirst, false), "a record in a segment not yet made is not found")
	require.Nil(t, fresh.recs[1].Load(), "making record 3 made no other segment")
}

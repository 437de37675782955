package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSumSeries(t *testing.T) {
	const exposition = `# HELP slabtrack_allocations_total Objects allocated.
# TYPE slabtrack_allocations_total counter
slabtrack_allocations_total{pool="a",type="*main.A"} 3
slabtrack_allocations_total{pool="b {x}",type="*main.B"} 1e+06
slabtrack_allocations_total_other 7
slabtrack_frees_total{pool="a",type="*main.A"} 2
plain 5
`
	sum, err := sumSeries([]byte(exposition), "slabtrack_allocations_total")
	require.NoError(t, err, "the metric has series")
	assert.Equal(t, 1000003.0, sum, "the series of the metric are added up, those of other metrics are not")
	sum, err = sumSeries([]byte(exposition), "plain")
	require.NoError(t, err, "a metric without labels has a series")
	assert.Equal(t, 5.0, sum, "a series without labels counts")
	_, err = sumSeries([]byte(exposition), "slabtrack_missing")
	assert.Error(t, err, "a metric with no series is an error")
	_, err = sumSeries([]byte("m{a=\"b\"} x\n"), "m")
	assert.Error(t, err, "a value that is not a number is an error")
}

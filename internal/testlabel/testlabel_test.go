package testlabel_test

import (
	"context"
	"fmt"
	"runtime/pprof"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slabtrack/slabtrack/internal/testlabel"
)

func TestMarkIsInherited(t *testing.T) {
	require.True(t, testlabel.Works(), "this Go's label layout is the one the package reads")
	done := make(chan uint32)
	go func() {
		assert.Zero(t, testlabel.Current(), "a goroutine starts without a mark")
		mark, parent := testlabel.Mark("TestA")
		assert.Zero(t, parent, "no mark is replaced")
		assert.Equal(t, mark, testlabel.Current(), "the goroutine carries its mark")
		child := make(chan uint32)
		go func() { child <- testlabel.Current() }()
		assert.Equal(t, mark, <-child, "a goroutine started after Mark inherits it")

		sub, parent := testlabel.Mark("TestA/sub")
		assert.Equal(t, mark, parent, "a new mark replaces the old one, which is returned")
		assert.NotEqual(t, mark, sub, "each mark is new")
		done <- testlabel.Current()
	}()
	assert.NotZero(t, <-done, "the goroutine ends with the last mark")
	assert.Zero(t, testlabel.Current(), "other goroutines are not marked")
}

// A mark keeps the goroutine's other labels. pprof.Do and
// SetGoroutineLabels with a context that lacks the mark drop it, as they
// drop any label: the package documentation says so.
func TestMarkKeepsOtherLabels(t *testing.T) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("route", "/v1/orders")))
		mark, _ := testlabel.Mark("TestB")
		assert.Equal(t, mark, testlabel.Current(), "the mark is set")
		assert.Equal(t, "/v1/orders", testlabel.Labels()["route"], "the other label is kept")
		assert.Equal(t, fmt.Sprintf("%d TestB", mark), testlabel.Labels()[testlabel.Key], "the label names the mark and the test")
		pprof.Do(context.Background(), pprof.Labels("other", "x"), func(context.Context) {
			assert.Zero(t, testlabel.Current(), "pprof.Do from a context without the mark drops it")
		})
	}()
	<-done
}

// Package errgroup is a stand-in for golang.org/x/sync/errgroup with the
// same API shape: Go runs its function on a goroutine of its own, and Wait
// waits for every one of them. The corpus's worker cases are analysed
// against it as they would be against the real package, through its facts.
package errgroup

import "sync"

// A Group is a collection of goroutines working on one task.
type Group struct {
	wg   sync.WaitGroup
	once sync.Once
	err  error
}

// Go calls f on a new goroutine.
func (g *Group) Go(f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(); err != nil {
			g.once.Do(func() { g.err = err })
		}
	}()
}

// Wait waits for every function started by Go and returns the first error.
func (g *Group) Wait() error {
	g.wg.Wait()
	return g.err
}
